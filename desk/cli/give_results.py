"""`desk give-results`: a result for each tool call of an answer, sent back to its model,
which continues as a new turn (a new trial whose parent is the answer's)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from desk.cli.common import EXIT_FAILED, CliError, _read_text, _run
from desk.cli.policy import add_policy_args, timeouts_from
from desk.cli.trial import report

if TYPE_CHECKING:
    from desk.engine.application import Application


def register(sub: Any, db: argparse.ArgumentParser) -> None:
    give = sub.add_parser("give-results", parents=[db],
                          help="answer an answer's tool calls; the model continues with the results")
    give.add_argument("response_id", metavar="RESPONSE_ID")
    src = give.add_mutually_exclusive_group(required=True)
    src.add_argument("--result", "-r", action="append", metavar="TEXT",
                     help="the result of the next call, in the order the calls were made (repeatable)")
    src.add_argument("--results-file", metavar="FILE",
                     help="a JSON list with one result per call (text, or any JSON value)")
    src.add_argument("--canned", action="store_true",
                     help="the canned results the trial (or its suite case) carries")
    add_policy_args(give)
    give.add_argument("--json", action="store_true", help="one JSON object for the new answer")
    give.set_defaults(handler=_give)


def _results(args: argparse.Namespace) -> list[str] | None:
    if args.canned:
        return None
    if args.result is not None:
        return list(args.result)
    try:
        listed = json.loads(_read_text(args.results_file, "results file"))
    except ValueError as exc:
        raise CliError(f"{args.results_file}: not JSON ({exc})") from None
    if not isinstance(listed, list):
        raise CliError(f"{args.results_file}: must be a JSON list, one result per call")
    return [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in listed]


def _give(args: argparse.Namespace, app: Application) -> int:
    from desk.engine.errors import EngineError
    from desk.engine.services.trials import TrialNotStored, TrialOutcome

    results = _results(args)
    try:
        timeouts = timeouts_from(args)
    except ValueError as exc:
        raise CliError(str(exc)) from None

    async def go() -> TrialOutcome:
        async with app.engine(timeouts=timeouts) as engine:
            return await engine.trials.give_results(args.response_id, results)

    try:
        outcome = _run(go())
    except TrialNotStored as exc:
        raise CliError(str(exc), EXIT_FAILED) from None
    except EngineError as exc:
        raise CliError(str(exc)) from None
    return report(outcome.trial_id, outcome.responses, as_json=args.json)
