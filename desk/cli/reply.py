"""`desk reply`: continue a conversation, with one model or with every model of a trial."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from desk.cli.common import CliError, _read_text, _run
from desk.cli.policy import add_policy_args, timeouts_from
from desk.cli.trial import Progress, report

if TYPE_CHECKING:
    from desk.core.conversation import TurnLink
    from desk.core.response import ResponseResult
    from desk.engine.application import Application


def register(sub: Any, db: argparse.ArgumentParser) -> None:
    reply = sub.add_parser(
        "reply", parents=[db],
        help="reply to an answer: its model gets the whole conversation and answers the next turn",
    )
    reply.add_argument("id", metavar="RESPONSE_ID",
                       help="the answer to reply to (with --all: a trial, each of whose conversations continues)")
    src = reply.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", "-t", metavar="TEXT", help="the reply")
    src.add_argument("--text-file", metavar="FILE", help="read the reply from a file ('-' for stdin)")
    reply.add_argument("--all", action="store_true",
                       help="ID is a trial: send the same reply to the last answer of each of its conversations")
    add_policy_args(reply)
    reply.add_argument("--no-stream", action="store_true", help="ask for whole answers instead of streams")
    reply.add_argument("--json", action="store_true",
                       help="one JSON object per answer per line, as `desk trial --json` with turn and parent_response_id")
    reply.set_defaults(handler=_reply)


def _reply(args: argparse.Namespace, app: Application) -> int:
    from desk.engine.policy import RetryPolicy
    from desk.engine.session import EngineError

    text = args.text if args.text is not None else _read_text(args.text_file, "reply")
    try:
        timeouts = timeouts_from(args)
        retry = RetryPolicy(max_retries=args.max_retries)
    except ValueError as exc:
        raise CliError(str(exc)) from None

    async def go() -> tuple[list[ResponseResult], dict[str, TurnLink]]:
        async with app.engine(timeouts=timeouts, retry=retry, stream=not args.no_stream) as engine:
            service = engine.conversations
            if args.all:
                count = len(service.latest(args.id))
                progress = Progress(count) if count and not args.json and sys.stderr.isatty() else None
                results = await service.reply_all(args.id, text, sink=progress)
            else:
                progress = Progress(1) if not args.json and sys.stderr.isatty() else None
                results = [await service.reply(args.id, text, sink=progress)]
            links = {r.id: link for r in results if (link := service.turns.get(r.id)) is not None}
            return results, links

    try:
        results, links = _run(go())
    except EngineError as exc:
        raise CliError(str(exc)) from None
    return report(results[0].trial_id, results, as_json=args.json, turns=links)
