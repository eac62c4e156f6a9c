"""`desk show`: a past trial and its answers."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from desk.cli.common import (
    EXIT_OK,
    CliError,
    _json,
    _with_engine,
)
from desk.cli.trial import print_table, turn_json

if TYPE_CHECKING:
    from desk.engine.application import Application


def register(sub: Any, db: argparse.ArgumentParser) -> None:
    show = sub.add_parser("show", parents=[db], help="show a past trial and its answers")
    show.add_argument("trial_id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_show)


def _show(args: argparse.Namespace, app: Application) -> int:
    found, links = _with_engine(app, lambda engine: (engine.trials.load(args.trial_id),
                                                     engine.conversations.turns.for_trial(args.trial_id)))
    if found is None:
        raise CliError(f"no trial {args.trial_id!r}")
    stored, responses = found
    turns = {link.response_id: link for link in links}
    if args.json:
        for r in responses:
            print(_json(turn_json(r, turns)))
        return EXIT_OK
    print(f"prompt: {stored.input.prompt}")
    if stored.input.system:
        print(f"system: {stored.input.system}")
    for a in stored.input.attachments:
        print(f"attachment: {a.name} ({a.kind}, {a.size} bytes)")
    if tools := stored.input.tools:
        print(f"tools: {', '.join(t.name for t in tools.tools)} (choice: {tools.choice})")
    print_table(args.trial_id, responses, turns)
    return EXIT_OK

