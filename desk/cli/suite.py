"""`desk suite`: import, list and export suites; run them against several models; resume runs.

`register` declares each action's arguments and binds its handler, as every command group does.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
from statistics import median
from typing import TYPE_CHECKING, Any, NoReturn

from desk.cli import compare as cli_compare
from desk.cli import rerun as cli_rerun
from desk.cli import suite_history as cli_history
from desk.cli import suite_tools
from desk.cli.common import CliError, _json, _ref, _with_engine
from desk.cli.common import _run as _run_coro
from desk.cli.policy import add_policy_args, timeouts_from
from desk.cli.trial import response_json
from desk.core.response import ResponseResult
from desk.core.trial import REASONING_EFFORTS

if TYPE_CHECKING:
    from desk.engine.application import Application
    from desk.engine.paired import PairedComparison
    from desk.engine.scorecard import ModelScore
    from desk.engine.session import Engine, SuiteInfo
    from desk.engine.suite_records import Disagreement, SuiteResponse, SuiteRunResult


def register(sub: Any, db: argparse.ArgumentParser) -> None:  # argparse names no public type for it
    suite = sub.add_parser(
        "suite", parents=[db], help="sets of real tasks: import, run against several models, resume",
        description="A suite is a named, versioned set of cases (prompt, optional system prompt, "
                    "attachments, tags, and the behaviour a good answer shows: expect = clarify, "
                    "abstain, answer or follow_constraints). The built-in suite is 'starter'.",
    )
    ssub = suite.add_subparsers(dest="action", metavar="ACTION", required=True)

    imp = ssub.add_parser("import", parents=[db], help="store a CSV or JSONL file as a suite (a new version)",
                          description="Columns: prompt (required); id, system, expect, tags (';'-separated), "
                                      "attachments (paths relative to the file, inside its folder unless "
                                      "--allow-outside; ';'-separated), notes, "
                                      "constraints (JSON) optional. A bad row stops the import: nothing "
                                      "is stored.")
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--name", required=True, help="the suite's name; importing a name again makes a new version")
    imp.add_argument("--allow-outside", action="append", default=[], metavar="PATH",
                     help="also accept attachments in this folder (or this file); by default every "
                          "attachment must lie inside the suite file's folder, symlinks resolved")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(handler=_import)

    lst = ssub.add_parser("list", parents=[db], help="list suites (the built-in 'starter' included)")
    lst.add_argument("--all", action="store_true", help="every version, not only the newest of each name")
    lst.add_argument("--json", action="store_true", help="one JSON object per suite")
    lst.set_defaults(handler=_list)

    exp = ssub.add_parser("export", parents=[db], help="write a suite to JSONL (one case per line)")
    exp.add_argument("name", metavar="NAME")
    exp.add_argument("--out", "-o", required=True, metavar="FILE.jsonl")
    exp.add_argument("--version", type=int, help="default: the newest")
    exp.set_defaults(handler=_export)

    frm = ssub.add_parser("from-trials", parents=[db], help="make a suite of past trials (prompt, system, files)")
    frm.add_argument("trial_ids", nargs="+", metavar="TRIAL_ID")
    frm.add_argument("--name", required=True)
    frm.add_argument("--expect", default="", choices=("", "clarify", "abstain", "answer", "follow_constraints"),
                     help="the behaviour every case expects (default: none)")
    frm.set_defaults(handler=_from_trials)
    _register_runs(ssub, db)
    cli_compare.register(ssub, db)
    cli_rerun.register(ssub, db, (_ProgressLine, _report_run))
    cli_history.register(ssub, db)


def _register_runs(ssub: Any, db: argparse.ArgumentParser) -> None:

    run = ssub.add_parser(
        "run", parents=[db], help="send every case of a suite to several models (or resume a run)",
        description="Every case (x --repeat samples) goes to every --model, at most --concurrency "
                    "requests at once. Each answer is an ordinary trial response, linked to the run. "
                    "--resume RUN_ID sends only the cases that have no completed answer yet.",
    )
    run.add_argument("name", nargs="?", metavar="NAME", help="the suite (not with --resume)")
    run.add_argument("--model", "-m", action="append", default=[], metavar="NAME/MODEL")
    run.add_argument("--resume", metavar="RUN_ID", help="continue a cancelled, crashed or killed run")
    run.add_argument("--version", type=int, help="suite version (default: the newest)")
    run.add_argument("--repeat", type=int, default=1, metavar="K", help="samples per case and model (default 1)")
    run.add_argument("--concurrency", "-c", type=int, default=None, metavar="C",
                     help="requests in flight at once, all models together (default 4; "
                          "with --resume: the run's own)")
    run.add_argument("--max-turns", type=int, default=None, metavar="N",
                     help="a case's clarification is sent as the next turn while the answer asks a question, "
                          "up to turn N (default 2; 1: never; with --resume: the run's own)")
    run.add_argument("--label", metavar="TEXT", help="a label for the run")
    run.add_argument("--temperature", type=float)
    run.add_argument("--max-tokens", type=int)
    run.add_argument("--reasoning-effort", choices=REASONING_EFFORTS)
    add_policy_args(run)
    run.add_argument("--no-stream", action="store_true", help="ask for whole answers instead of streams")
    run.add_argument("--json", action="store_true",
                     help="one JSON object per answer per line: the 'desk trial --json' fields plus "
                          "run_id, case_id, sample, expect and turn")
    run.set_defaults(handler=_run)

    runs = ssub.add_parser("runs", parents=[db], help="list suite runs: status and progress")
    runs.add_argument("--limit", type=int, default=50)
    runs.add_argument("--json", action="store_true", help="one JSON object per run")
    runs.set_defaults(handler=_runs)

    dis = ssub.add_parser("disagreements", parents=[db],
                          help="answers where desk's automatic constraint check and a person disagree")
    dis.add_argument("run_id", nargs="?", metavar="RUN_ID", help="only this suite run (default: all)")
    dis.add_argument("--json", action="store_true", help="one JSON object per disagreement")
    dis.set_defaults(handler=_disagreements)
    suite_tools.register(ssub, db)


def _suite_json(info: SuiteInfo) -> dict[str, Any]:
    return {"name": info.name, "version": info.version, "cases": info.cases, "id": info.id,
            "created_at": info.created_at, "builtin": info.builtin, "source": info.source}


def _import(args: argparse.Namespace, app: Application) -> int:
    info = _with_engine(app, lambda e: e.suites.import_suite(args.file, args.name, allow_outside=args.allow_outside))
    if args.json:
        print(_json(_suite_json(info)))
    else:
        print(f"imported {info.cases} case(s) as suite {info.name} version {info.version}")
    return 0


def _list(args: argparse.Namespace, app: Application) -> int:
    suites = _with_engine(app, lambda e: e.suites.list_suites(all_versions=args.all))
    if args.json:
        for info in suites:
            print(_json(_suite_json(info)))
        return 0
    if not suites:
        print("no suites yet; import one with: desk suite import FILE --name NAME")
    for info in suites:
        builtin = "  (built in)" if info.builtin else ""
        print(f"{info.name:<24} v{info.version:<4} {info.cases:>5} case(s){builtin}")
    return 0


def _export(args: argparse.Namespace, app: Application) -> int:
    if args.out == "-":  # stdout, as `desk export --out -`
        suite = _with_engine(app, lambda e: e.suites.get(args.name, args.version))
        if any(case.attachments for case in suite.cases):
            raise CliError(f"suite {args.name!r} has attachments: export it to a file (they go in a folder beside it)")
        for case in suite.cases:
            print(_json(case.as_json()))
        return 0
    n = _with_engine(app, lambda e: e.suites.export(args.name, args.out, args.version))
    print(f"exported {n} case(s) of {args.name} to {args.out}")
    return 0


def _from_trials(args: argparse.Namespace, app: Application) -> int:
    info = _with_engine(app, lambda e: e.suites.from_trials(args.name, args.trial_ids, args.expect))
    print(f"made suite {info.name} version {info.version} of {info.cases} trial(s)")
    return 0


def _runs(args: argparse.Namespace, app: Application) -> int:
    from desk.engine.suite_records import progress_text

    runs = _with_engine(app, lambda e: e.suites.list_runs(args.limit))
    if args.json:
        for r in runs:
            print(_json(r.as_json()))
        return 0
    if not runs:
        print("no suite runs yet; start one with: desk suite run NAME -m PROVIDER/MODEL")
    for r in runs:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at))
        not_stored = f", {r.not_stored} not stored (the store refused them)" if r.not_stored else ""
        print(f"{r.run_id}  {when}  {r.suite} v{r.suite_version}  {r.status:<11} "
              f"{progress_text(r.done, r.total, r.failed)}{not_stored}  {', '.join(r.models)}")
    return 0


def _disagreements(args: argparse.Namespace, app: Application) -> int:
    """Where the code's verdict on hard constraints and a rater's differ: either the checker
    misread the constraint or the rater missed a violation; both are worth a second look."""

    def found_in(e: Engine) -> list[Disagreement]:
        if args.run_id and not e.suites.run_info(args.run_id):
            _no_run(args.run_id)
        return e.suites.disagreements(args.run_id)

    found = _with_engine(app, found_in)
    if args.json:
        for d in found:
            print(_json(dataclasses.asdict(d)))
        return 0
    if not found:
        print("no disagreements: every answer rated by a person and checked by desk got the same verdict")
    for d in found:
        print(f"{d.case_key}  {d.model}  auto: {d.auto}  {d.rater}: {d.human}  response {d.response_id}")
        if d.auto_note:
            print(f"    {d.auto_note}")
    return 0


def _no_run(run_id: str) -> NoReturn:
    raise CliError(f"no suite run {run_id!r} (see 'desk suite runs')")


class _ProgressLine:
    """One line on stderr, refreshed at most 4 times a second."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.last = 0.0
        self.failed = 0
        self.shown = False
        self.latest: tuple[int, int, int] | None = None  # done, total, failed
        self.written: tuple[int, int, int] | None = None

    def __call__(self, done: int, total: int) -> None:
        self.latest = (done, total, self.failed)
        now = time.monotonic()
        if now - self.last < 0.25 and done != total:
            return
        self.last = now
        self._write()

    def _write(self) -> None:
        assert self.latest is not None
        done, total, failed = self.latest
        from desk.engine.suite_records import progress_text

        sys.stderr.write(f"\r{progress_text(done, total, failed)}   ")
        sys.stderr.flush()
        self.written = self.latest
        self.shown = True

    def end(self) -> None:
        if self.latest is not None and self.latest != self.written:
            self._write()  # the last update may have been throttled; a run can end short of total
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _run(args: argparse.Namespace, app: Application) -> int:
    from desk.core.response import Status
    from desk.core.trial import GenerationSettings
    from desk.engine.policy import RetryPolicy
    from desk.engine.session import EngineError
    from desk.engine.suite_records import SuiteRunCancelled

    _check_run_args(args)
    refs = [_ref(m) for m in args.model]
    if len(set(refs)) != len(refs):
        raise CliError("the same model is listed twice")
    if args.repeat < 1:
        raise CliError("--repeat must be at least 1")
    if args.concurrency is not None and args.concurrency < 1:
        raise CliError("--concurrency must be at least 1")
    try:
        settings = GenerationSettings(args.temperature, args.max_tokens, args.reasoning_effort)
        timeouts = timeouts_from(args)
        retry = RetryPolicy(max_retries=args.max_retries)
    except ValueError as exc:
        raise CliError(str(exc)) from None

    progress = _ProgressLine()
    started: list[str] = []

    def on_response(item: SuiteResponse) -> None:
        r = item.response
        if r.status != Status.OK:
            progress.failed += 1
        if args.json:
            record = response_json(r)
            record.update(run_id=item.run_id, case_id=item.case.key, sample=item.sample, expect=item.case.expect,
                          turn=item.turn)
            sys.stdout.write(_json(record) + "\n")
            sys.stdout.flush()

    async def go() -> SuiteRunResult:
        async with app.engine(timeouts=timeouts, retry=retry, stream=not args.no_stream) as engine:
            try:
                if args.resume:
                    return await engine.suites.resume(args.resume, concurrency=args.concurrency, progress=progress,
                                                      on_response=on_response, on_start=started.append)
                return await engine.suites.run(args.name, refs, version=args.version, repeat=args.repeat,
                                               concurrency=args.concurrency or 4, settings=settings,
                                               max_turns=2 if args.max_turns is None else args.max_turns,
                                               label=args.label, progress=progress, on_response=on_response,
                                               on_start=started.append)
            except SuiteRunCancelled as exc:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # Ctrl+C: asyncio.run turns this into KeyboardInterrupt (exit 130, below).
                    raise asyncio.CancelledError from None
                return exc.result

    try:
        result = _run_coro(go())
    except EngineError as exc:
        progress.end()
        raise CliError(str(exc)) from None
    except KeyboardInterrupt:
        progress.end()
        if started:
            sys.stderr.write(f"desk: interrupted; what was answered is stored. Resume with: "
                             f"desk suite run --resume {started[0]}\n")
        else:
            sys.stderr.write("desk: interrupted\n")
        return 130
    progress.end()
    return _report_run(args, result)


def _check_run_args(args: argparse.Namespace) -> None:
    """A new run names a suite and models; a resumed one takes both from the run itself."""
    if args.resume:
        if args.name:
            raise CliError("give a suite NAME or --resume RUN_ID, not both")
        if args.model:
            raise CliError("--resume sends to the run's own models; leave out --model")
        if args.version is not None or args.repeat != 1 or args.max_turns is not None:
            raise CliError("--resume keeps the run's suite version, --repeat and --max-turns")
    else:
        if not args.name:
            raise CliError("name the suite to run (see 'desk suite list'), or --resume RUN_ID")
        if not args.model:
            raise CliError("choose at least one model with --model NAME/MODEL")


def _report_run(args: argparse.Namespace, result: SuiteRunResult) -> int:
    """The summary and what went wrong, on stderr; exit 1 when answers are missing."""
    info = result.info
    if not args.json:
        _print_result(result)
    for model, why in result.held_back.items():
        sys.stderr.write(f"desk: {model} failed with {why}; its other cells were not sent (fix the model "
                         "name or the key first)\n")
    for cell in result.not_stored:
        sys.stderr.write(f"desk: error: {cell}\n")
    if result.not_stored:
        sys.stderr.write(f"desk: error: run {result.run_id}: {len(result.not_stored)} answer(s) could not be stored "
                         f"and are lost; {result.not_sent} cell(s) were not sent. Fix the store, then resume with: "
                         f"desk suite run --resume {result.run_id}\n")
        return 1
    if info is not None and info.done < info.total:
        missing = info.total - info.done
        sys.stderr.write(f"desk: error: run {result.run_id}: {missing} of {info.total} answers not completed; "
                         f"resume with: desk suite run --resume {result.run_id}\n")
        return 1
    return 0


def _print_result(result: SuiteRunResult) -> None:
    from desk.core.response import Status

    info = result.info
    total = f"{info.done}/{info.total} answers done" if info else ""
    skipped = f", {result.skipped} already done before" if result.skipped else ""
    print(f"suite run {result.run_id} ({info.suite if info else '?'}): {result.status}, {total}{skipped}")
    by_model: dict[str, list[ResponseResult]] = {}
    for item in result.responses:
        by_model.setdefault(item.response.model, []).append(item.response)
    if not by_model:
        return
    rows = [("model", "ok/sent", "median TTFT", "median total", "cost")]
    for model, answers in by_model.items():
        ok = [r for r in answers if r.status == Status.OK]
        ttft = [r.ttft_ms for r in ok if r.ttft_ms is not None]
        tot = [r.total_ms for r in ok if r.total_ms is not None]
        costs = [r.cost_usd for r in answers if r.cost_usd is not None]
        cost = f"${sum(costs):.6f}" if costs and len(costs) == len(answers) else (
            f"${sum(costs):.6f} + unknown" if costs else "unknown")
        rows.append((model, f"{len(ok)}/{len(answers)}", _ms(median(ttft) if ttft else None),
                     _ms(median(tot) if tot else None), cost))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f} ms"


# --- for `desk scorecard --run` (desk.cli prints the rest) ------------------------------------


def print_by_expect(scores: list[ModelScore]) -> None:
    """The per-behaviour table of a suite run's scorecard."""
    rows = [("model", "expect", "rated", "handled", "95% CI", "extra turn")]
    for s in scores:
        for kind, e in (s.by_expect or {}).items():
            rate = "-" if e.handled_rate is None else f"{e.handled_rate * 100:.0f}%"
            ci = "-" if e.handled_ci is None else f"{e.handled_ci[0] * 100:.0f}-{e.handled_ci[1] * 100:.0f}%"
            rows.append((s.model, kind, str(e.n_rated), rate, ci, str(e.extra_turn)))
    if len(rows) == 1:
        return
    print("\nby expected behaviour:")
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def print_comparison(c: PairedComparison) -> None:
    print(f"{c.model_a} vs {c.model_b}: {c.pairs} paired answers; {c.model_a} better {c.wins}, "
          f"{c.model_b} better {c.losses}, ties {c.ties}; sign test p = {c.p_value:.4g}{c.extra_turn_text}")
    for warning in c.warnings:
        print(f"warning: {warning}")
