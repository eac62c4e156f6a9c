"""`desk rubric show`: the rubric answers are rated by."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from desk.cli.common import (
    EXIT_OK,
    _json,
    _with_engine,
)

if TYPE_CHECKING:
    from desk.engine.application import Application


def register(sub: Any, db: argparse.ArgumentParser) -> None:
    rubric = sub.add_parser("rubric", parents=[db], help="the rubric answers are rated by")
    rsub = rubric.add_subparsers(dest="action", metavar="ACTION", required=True)
    rshow = rsub.add_parser("show", parents=[db], help="print the current rubric: criteria and option keys")
    rshow.add_argument("--json", action="store_true")
    rshow.set_defaults(handler=_rubric_show)


def _rubric_show(args: argparse.Namespace, app: Application) -> int:
    from desk.engine.export import rubric_json

    rubric = _with_engine(app, lambda engine: engine.ratings.rubrics.default())
    if args.json:
        print(_json(rubric_json(rubric)))
        return EXIT_OK
    print(f"rubric {rubric.name} version {rubric.version}")
    for c in rubric.criteria:
        need = "" if c.required else ", optional"
        if c.kind == "choice":
            print(f"{c.key} ({c.label}{need}): {' | '.join(c.option_keys())}")
        elif c.kind == "scale":
            print(f"{c.key} ({c.label}{need}): {c.low}-{c.high}")
        else:
            print(f"{c.key} ({c.label}{need}): {c.kind}")
    return EXIT_OK

