"""`desk judge`: a model rates answers (issue 14), its prompt, and its agreement with people.

    desk judge --run RUN_ID --judge PROVIDER/MODEL [--concurrency N] [--images]
    desk judge --trial TRIAL_ID --judge PROVIDER/MODEL
    desk judge prompt show | set FILE
    desk judge agreement [--run RUN_ID] [--threshold 0.6] [--json]
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from desk.cli.common import EXIT_FAILED, EXIT_OK, CliError, _json, _ref, _run, _with_engine
from desk.core.files import FileReadError, read_bounded

if TYPE_CHECKING:
    from desk.core.judge_agreement import AgreementReport, CriterionAgreement
    from desk.engine.application import Application
    from desk.engine.session import JudgeSummary

MAX_TEMPLATE_BYTES = 1024 * 1024


def register(sub: Any, db: argparse.ArgumentParser) -> None:
    judge = sub.add_parser("judge", parents=[db], help="a model rates answers; its prompt; its agreement with people")
    scope = judge.add_mutually_exclusive_group()
    scope.add_argument("--run", metavar="RUN_ID", help="judge every answer of this suite run")
    scope.add_argument("--trial", metavar="TRIAL_ID", help="judge every answer of this trial")
    judge.add_argument("--judge", metavar="PROVIDER/MODEL", help="the judge model")
    judge.add_argument("--concurrency", type=int, default=4, help="requests to the judge at once (default 4)")
    judge.add_argument("--images", action="store_true",
                       help="send the task's images too (only for a judge model that takes images)")
    judge.set_defaults(handler=_judge)
    jsub = judge.add_subparsers(dest="action", metavar="ACTION")
    prompt = jsub.add_parser("prompt", parents=[db], help="the judge prompt template (versioned)")
    psub = prompt.add_subparsers(dest="prompt_action", metavar="ACTION", required=True)
    show = psub.add_parser("show", parents=[db], help="print the judge prompt in use and its version")
    show.set_defaults(handler=_prompt_show)
    put = psub.add_parser("set", parents=[db], help="store a template from FILE ('-': stdin) as the next version")
    put.add_argument("file", metavar="FILE")
    put.set_defaults(handler=_prompt_set)
    agree = jsub.add_parser("agreement", parents=[db], help="per criterion: how the judge agrees with people")
    agree.add_argument("--run", metavar="RUN_ID", help="only the answers of this suite run")
    agree.add_argument("--threshold", type=float, default=0.6,
                       help="calibrated when kappa's lower bound reaches this (default 0.6) with n >= 30")
    agree.add_argument("--json", action="store_true")
    agree.set_defaults(handler=_agreement)


def _judge(args: argparse.Namespace, app: Application) -> int:
    if not (args.run or args.trial) or not args.judge:
        raise CliError("say what to judge and with which model: desk judge --run RUN_ID --judge PROVIDER/MODEL "
                       "(or --trial TRIAL_ID), or an action: prompt, agreement")
    ref = _ref(args.judge)

    def progress(done: int, total: int) -> None:
        print(f"\rjudged {done}/{total}", end="", file=sys.stderr, flush=True)

    async def go() -> JudgeSummary:
        async with app.engine() as engine:
            if args.run:
                return await engine.judges.judge_run(args.run, ref, concurrency=args.concurrency,
                                                     images=args.images, progress=progress)
            return await engine.judges.judge_trial(args.trial, ref, concurrency=args.concurrency,
                                                   images=args.images, progress=progress)

    summary = _run(go())
    print(file=sys.stderr)
    print(f"judge {summary.judge} (prompt version {summary.prompt_version}), judge run {summary.run_id}: "
          f"{summary.verdicts} verdicts, {summary.errors} judge errors, {summary.already} judged before, "
          f"{summary.failed_answers} failed answers not judged")
    for message in summary.error_messages[:10]:
        print(f"  judge error: {message}")
    return EXIT_OK if not summary.errors else EXIT_FAILED


def _prompt_show(args: argparse.Namespace, app: Application) -> int:
    prompt = _with_engine(app, lambda engine: engine.judges.prompt())
    print(f"judge prompt {prompt.name} version {prompt.version}")
    print(prompt.template)
    return EXIT_OK


def _prompt_set(args: argparse.Namespace, app: Application) -> int:
    try:
        data = sys.stdin.buffer.read(MAX_TEMPLATE_BYTES + 1) if args.file == "-" else \
            read_bounded(args.file, MAX_TEMPLATE_BYTES)
    except FileReadError as exc:
        raise CliError(str(exc)) from None
    if len(data) > MAX_TEMPLATE_BYTES:
        raise CliError(f"the template is larger than {MAX_TEMPLATE_BYTES} bytes")
    prompt = _with_engine(app, lambda engine: engine.judges.set_prompt(data.decode("utf-8")))
    print(f"judge prompt {prompt.name} version {prompt.version}")
    return EXIT_OK


def _agreement(args: argparse.Namespace, app: Application) -> int:
    report = _with_engine(app, lambda engine: engine.judges.agreement(args.run, threshold=args.threshold))
    if args.json:
        print(_json(report.as_json()))
        return EXIT_OK
    _print_report(report)
    return EXIT_OK


def _print_report(report: AgreementReport) -> None:
    if not report.rows:
        print("no judge verdicts yet (desk judge --run RUN_ID --judge PROVIDER/MODEL)")
        return
    print(f"calibrated: n >= {report.min_shared} shared answers and kappa's 95% lower bound >= {report.threshold:g}")
    for row in report.rows:
        print(_line(row))


def _line(row: CriterionAgreement) -> str:
    def num(x: float | None) -> str:
        return "–" if x is None else f"{x:.2f}"

    interval = f"[{num(row.kappa_low)}, {num(row.kappa_high)}]"
    state = "calibrated" if row.calibrated else "NOT calibrated"
    human = f"people's kappa {num(row.human_kappa)} (n={row.human_n})"
    matrix = "; ".join(f"{label}: {list(counts)}" for label, counts in zip(row.labels, row.confusion, strict=True))
    return (f"{row.judge} · {row.criterion}: n={row.n} agreement {num(row.agreement)} kappa {num(row.kappa)} "
            f"{interval} {state}; {human}\n    person→judge {' '.join(map(str, row.labels))}: {matrix}")
