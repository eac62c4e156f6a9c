"""`desk suite rerun RUN_ID [--fail-on-regression]`: the same suite run again, for cron, a
systemd timer or a CI job.

Registered by desk.cli.suite. The new run has the old one's models, settings, repeats and
suite version (--newest-version: the suite's newest) and is linked to it. With
--fail-on-regression the two runs are compared (desk suite compare's table, or its JSON) and
the exit status is 3 when any figure of any model is flagged worse. Nothing asks a question:
keys come from the keyring or the environment, as for every command.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from desk.cli import compare as cli_compare
from desk.cli.common import CliError, _json
from desk.cli.common import _run as _run_coro
from desk.cli.policy import add_policy_args, timeouts_from
from desk.core.run_compare import ALPHA, RunComparison

if TYPE_CHECKING:
    from desk.engine.application import Application
    from desk.engine.suite_records import SuiteRunResult

EXIT_REGRESSION = 3


class RunProgress(Protocol):
    """desk suite run's progress line on stderr."""

    def __call__(self, done: int, total: int) -> None: ...

    def end(self) -> None: ...


# desk suite run's progress line and report (desk.cli.suite hands them in: it imports this module).
RunReporting = tuple[Callable[[], RunProgress], Callable[[argparse.Namespace, "SuiteRunResult"], int]]


def register(ssub: Any, db: argparse.ArgumentParser, reporting: RunReporting) -> None:  # argparse: no public type
    rerun = ssub.add_parser(
        "rerun", parents=[db], help="run a suite run again (same models, settings, repeats), linked to it",
        description="Starts a new run with RUN_ID's suite version, models, generation settings and "
                    "repeats, linked to RUN_ID. --fail-on-regression then compares the new run with "
                    "RUN_ID as 'desk suite compare' does and exits with status 3 when any figure is "
                    "flagged worse (0 when none is, 1 when answers are missing), printing the table: "
                    "meant for cron, a systemd timer or CI. It never prompts; keys come from the "
                    "keyring or the environment.",
    )
    rerun.add_argument("run_id", metavar="RUN_ID", help="the run to repeat (see 'desk suite runs')")
    rerun.add_argument("--fail-on-regression", action="store_true",
                       help="compare with RUN_ID; exit 3 when a figure is flagged worse")
    rerun.add_argument("--alpha", type=cli_compare._alpha, default=ALPHA,
                       help=f"flag a figure when its Holm-corrected p is under this (default {ALPHA})")
    rerun.add_argument("--newest-version", action="store_true",
                       help="run the suite's newest version instead of RUN_ID's (only shared cases compare)")
    rerun.add_argument("--concurrency", "-c", type=int, default=None, metavar="C",
                       help="requests in flight at once (default: RUN_ID's)")
    rerun.add_argument("--label", metavar="TEXT", help="a label for the new run")
    add_policy_args(rerun)
    rerun.add_argument("--no-stream", action="store_true", help="ask for whole answers instead of streams")
    rerun.add_argument("--json", action="store_true",
                       help="one JSON object: the new run, the run it repeats, and with "
                            "--fail-on-regression the comparison and the models' worse figures")
    rerun.set_defaults(handler=functools.partial(rerun_run, reporting=reporting))


def rerun_run(args: argparse.Namespace, app: Application, *, reporting: RunReporting) -> int:
    from desk.engine.policy import RetryPolicy
    from desk.engine.session import EngineError

    try:
        timeouts = timeouts_from(args)
        retry = RetryPolicy(max_retries=args.max_retries)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    progress_line, report_run = reporting
    progress = progress_line()

    async def go() -> tuple[SuiteRunResult, RunComparison | None]:
        async with app.engine(timeouts=timeouts, retry=retry, stream=not args.no_stream) as engine:
            result = await engine.suites.rerun(args.run_id, newest_version=args.newest_version,
                                               concurrency=args.concurrency, label=args.label,
                                               progress=progress)
            if not args.fail_on_regression:
                return result, None
            return result, engine.suites.compare_runs(args.run_id, result.run_id, alpha=args.alpha)

    try:
        result, comparison = _run_coro(go())
    except EngineError as exc:
        progress.end()
        raise CliError(str(exc)) from None
    progress.end()
    code = report_run(args, result)
    worse = {m.model: [f.name for f in m.flagged if f.flag == "worse"] for m in (comparison.models if comparison else ())}
    worse = {model: names for model, names in worse.items() if names}
    if args.json:
        record: dict[str, Any] = {"run_id": result.run_id, "rerun_of": args.run_id, "status": result.status,
                                  "run": result.info.as_json() if result.info else None}
        if comparison is not None:
            record.update(regression=bool(worse), worse=worse, comparison=comparison.as_json())
        print(_json(record))
    elif comparison is not None:
        print()
        cli_compare.print_comparison(comparison)
        print(f"regression: {_worse_text(worse)}" if worse else "no figure is flagged worse")
    if worse:
        sys.stderr.write(f"desk: regression against run {args.run_id}: {_worse_text(worse)}\n")
        return EXIT_REGRESSION
    return code


def _worse_text(worse: dict[str, list[str]]) -> str:
    return "; ".join(f"{model} worse in {', '.join(names)}" for model, names in worse.items())
