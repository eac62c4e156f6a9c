"""`desk judge`: a model rates answers (issue 14), its prompt, and its agreement with people.

    desk judge --run RUN_ID --judge PROVIDER/MODEL [--concurrency N] [--images | --no-images] [--temperature T]
    desk judge --trial TRIAL_ID --judge PROVIDER/MODEL
    desk judge prompt show | set FILE
    desk judge agreement [--run RUN_ID] [--threshold 0.6] [--json]
    desk judge sample --run RUN_ID [--seed N]      (the next answer of the calibration sample)
    desk judge rates --run RUN_ID --judge PROVIDER/MODEL [--json]
    desk judge plan --run RUN_ID --judge PROVIDER/MODEL --model M --figure F --half-width H
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from desk.cli.common import EXIT_FAILED, EXIT_OK, CliError, _json, _ref, _run, _with_engine
from desk.core.files import FileReadError, read_bounded

if TYPE_CHECKING:
    from desk.core.judge_agreement import AgreementReport, CriterionAgreement
    from desk.core.judged_rates import JudgedRate
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
    judge.add_argument("--images", action=argparse.BooleanOptionalAction, default=None,
                       help="send the tasks' images to the judge, or not (default: only when the judge model "
                            "takes images: desk provider images PROVIDER/MODEL)")
    judge.add_argument("--retry-failed", action="store_true",
                       help="send again the answers whose request to the judge failed (timeouts, HTTP errors); "
                            "replies that were no verdict stay judge errors")
    judge.add_argument("--temperature", type=_temperature, default=0.0, metavar="T",
                       help="the judge's temperature (default 0: deterministic; 'default': the vendor's)")
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
    sample = jsub.add_parser("sample", parents=[db],
                             help="draw the next answer of a run's calibration sample (uniformly at random) to rate")
    sample.add_argument("--run", metavar="RUN_ID", required=True)
    sample.add_argument("--seed", type=int, help="the sample's seed (default: drawn once, then recorded)")
    sample.set_defaults(handler=_sample)
    rates = jsub.add_parser("rates", parents=[db], help="rate figures: people only, judge only, combined (PPI)")
    rates.add_argument("--run", metavar="RUN_ID", required=True)
    rates.add_argument("--judge", metavar="PROVIDER/MODEL", required=True)
    rates.add_argument("--json", action="store_true")
    rates.set_defaults(handler=_rates)
    plan = jsub.add_parser("plan", parents=[db], help="human ratings a figure needs, with the judge and without")
    plan.add_argument("--run", metavar="RUN_ID", required=True)
    plan.add_argument("--judge", metavar="PROVIDER/MODEL", required=True)
    plan.add_argument("--model", required=True, metavar="PROVIDER/MODEL")
    plan.add_argument("--figure", required=True, choices=("success", "clarifying", "fabrication", "violation"))
    plan.add_argument("--half-width", type=float, required=True, help="target half-width of the 95%% interval")
    plan.set_defaults(handler=_plan)
    cost = jsub.add_parser("cost", parents=[db],
                           help="cost per successful task per model, alone and validated by the judge")
    cost.add_argument("--run", metavar="RUN_ID", required=True)
    cost.add_argument("--judge", metavar="PROVIDER/MODEL", required=True)
    cost.add_argument("--json", action="store_true")
    cost.set_defaults(handler=_cost)


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
                return await engine.judges.judge_run(args.run, ref, concurrency=args.concurrency, images=args.images,
                                                     temperature=args.temperature, retry_failed=args.retry_failed,
                                                     progress=progress)
            return await engine.judges.judge_trial(args.trial, ref, concurrency=args.concurrency, images=args.images,
                                                   temperature=args.temperature, retry_failed=args.retry_failed,
                                                   progress=progress)

    summary = _run(go())
    print(file=sys.stderr)
    temperature = "its vendor's default" if summary.temperature is None else f"{summary.temperature:g}"
    print(f"judge {summary.judge} (prompt version {summary.prompt_version}, temperature {temperature}), "
          f"judge run {summary.run_id}: "
          f"{summary.verdicts} verdicts, {summary.errors} judge errors, {summary.already} judged before, "
          f"{summary.failed_answers} failed answers not judged")
    if summary.images_withheld:
        print(f"images withheld from the judge for {summary.images_withheld} answer(s) whose task has images: "
              f"{summary.images_reason}")
    elif summary.images_sent:
        print(f"images sent to the judge for {summary.images_sent} answer(s): {summary.images_reason}")
    for message in summary.error_messages[:10]:
        print(f"  judge error: {message}")
    return EXIT_OK if not summary.errors else EXIT_FAILED


def _temperature(text: str) -> float | None:
    from desk.core.judge import parse_temperature

    try:
        return parse_temperature(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _prompt_show(args: argparse.Namespace, app: Application) -> int:
    prompt = _with_engine(app, lambda engine: engine.judges.prompts.default())
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
    report, withheld = _with_engine(app, lambda engine: (engine.judges.agreement(args.run, threshold=args.threshold),
                                                         engine.judges.images_withheld()))
    if args.json:
        print(_json({**report.as_json(), "images_withheld": withheld}))
        return EXIT_OK
    _print_report(report)
    for judge, n in withheld.items():
        print(f"note: {judge} did not see the images of {n} answer(s) whose task has images")
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


def _sample(args: argparse.Namespace, app: Application) -> int:
    found = _with_engine(app, lambda engine: engine.judges.draw_calibration(args.run, args.seed))
    if found is None:
        print("every answer of this run is drawn already")
        return EXIT_FAILED
    print(found)
    return EXIT_OK


def _rates(args: argparse.Namespace, app: Application) -> int:
    ref = _ref(args.judge)
    found = _with_engine(app, lambda engine: engine.judges.rates(args.run, ref))
    if args.json:
        for rate in found:
            print(_json(rate.as_json()))
        return EXIT_OK
    for rate in found:
        print(_rate_line(rate))
    return EXIT_OK


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _rate_line(r: JudgedRate) -> str:
    people = f"people {_pct(r.people_rate)} (n={r.people_n}"
    people += f", {_pct(r.people_interval[0])}–{_pct(r.people_interval[1])})" if r.people_interval else ")"
    judge = f"judge {_pct(r.judge_rate)} (n={r.judge_n}, {'calibrated' if r.judge_calibrated else 'NOT calibrated'})"
    if r.combined is not None:
        c = r.combined
        combined = f"combined {_pct(c.estimate)} ({_pct(c.low)}–{_pct(c.high)}, n={c.n} of {c.n_judged})"
    else:
        combined = f"combined –: {r.combined_note}"
    return f"{r.model} · {r.figure}: {people}; {judge}; {combined}"


def _plan(args: argparse.Namespace, app: Application) -> int:
    ref = _ref(args.judge)
    plan = _with_engine(app, lambda engine: engine.judges.plan(args.run, ref, args.model, args.figure,
                                                                args.half_width))
    with_judge = ("cannot be reached: the judge's own variance is too large" if plan.more_with_judge is None
                  else f"{plan.more_with_judge} more")
    print(f"{plan.model} · {plan.figure} within ±{100 * plan.half_width:g} points: without the judge "
          f"{plan.more_without_judge} more human ratings; with {args.judge}: {with_judge} "
          f"(calibration sample; {plan.rated} rated by people now)")
    return EXIT_OK


def print_calibration(judge: str, report: AgreementReport) -> None:
    """Under figures a judge made: for which criteria it is calibrated, and why not for the others."""
    rows = [r for r in report.rows if r.judge == judge]
    good = [r.criterion for r in rows if r.calibrated]
    bad = [f"{r.criterion} (n={r.n}, kappa lower bound {'–' if r.kappa_low is None else f'{r.kappa_low:.2f}'})"
           for r in rows if not r.calibrated]
    print(f"\n{judge} is calibrated for: {', '.join(good) or 'no criterion'}"
          + (f"; NOT for: {', '.join(bad)}" if bad else "")
          + f" (needs n >= {report.min_shared} and kappa's lower bound >= {report.threshold:g}; desk judge agreement)")


def _cost(args: argparse.Namespace, app: Application) -> int:
    ref = _ref(args.judge)
    found = _with_engine(app, lambda engine: engine.judges.validated_costs(args.run, ref))
    for c in found:
        if args.json:
            print(_json(c.as_json()))
            continue
        alone = "–" if c.cost_per_success_usd is None else f"${c.cost_per_success_usd:.6f}"
        validated = "–" if c.validated_cost_per_success_usd is None else f"${c.validated_cost_per_success_usd:.6f}"
        print(f"{c.model}: cost per success {alone} alone, {validated} validated by {args.judge} "
              f"({c.successes} successes rated by people of {c.answers} answers; {c.judged} judged)")
    return EXIT_OK
