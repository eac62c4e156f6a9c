"""`desk scorecard`: per-model figures from the ratings, or one suite run's."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from desk.cli.common import (
    EXIT_OK,
    CliError,
    _filter_arguments,
    _filters,
    _json,
    _with_engine,
)
from desk.core.constraint_reading import DEFAULT_READING, READINGS
from desk.core.judge import is_judge

if TYPE_CHECKING:
    from desk.engine.application import Application
    from desk.engine.paired import PairedComparison
    from desk.engine.scorecard import ModelScore
    from desk.engine.session import Engine


def register(sub: Any, db: argparse.ArgumentParser) -> None:
    score = sub.add_parser("scorecard", parents=[db], help="per-model figures from the ratings")
    score.add_argument("--json", action="store_true", help="a JSON list, one object per model")
    score.add_argument("--run", metavar="RUN_ID",
                       help="only a suite run's answers; each model gains by_expect (per expected behaviour)")
    score.add_argument("--compare", nargs=2, metavar=("A", "B"),
                       help="with --run: model A against model B on the same cases (wins, losses, ties, "
                            "sign-test p-value)")
    score.add_argument("--constraints", choices=READINGS, default=DEFAULT_READING,
                       help="which verdict of the automatic constraint checks (rater 'auto') counts: "
                            "IFBench's official one (default) or desk's reading of the instructions")
    score.add_argument("--clarifying", action="store_true",
                       help="what came of asking, per model: asked → then succeeded, asked needlessly, "
                            "guessed → succeeded, guessed → failed (k/n with a 95%% Wilson interval)")
    _filter_arguments(score)
    score.set_defaults(handler=_scorecard)


def _scorecard(args: argparse.Namespace, app: Application) -> int:
    # The suite's and the judge's printers are imported when a text report needs them: a
    # `--json` scorecard does not wait for them (issue 21).
    if args.clarifying:
        return _clarifying(args, app)
    if args.compare:
        result = _with_engine(app, lambda engine: _compared(args, engine))
        if args.json:
            print(_json(result.as_json()))
        else:
            from desk.cli import suite as cli_suite
            cli_suite.print_comparison(result)
        return EXIT_OK
    scores = _with_engine(app, lambda engine: _scores(args, engine), prices=False, loop=False)
    if args.json:
        print(_json([s.as_json() for s in scores]))
        return EXIT_OK
    from desk.cli import judge as cli_judge
    from desk.cli import suite as cli_suite
    if not scores:
        print("no answers in scope")
        return EXIT_OK
    _print_scorecard(scores)
    rater = getattr(args, "rater", None)
    if rater and is_judge(rater):  # figures a judge made say whether to trust them
        report = _with_engine(app, lambda engine: engine.judges.agreement(args.run))
        cli_judge.print_calibration(rater, report)
    if args.run:
        cli_suite.print_by_expect(scores)
    if args.constraints != DEFAULT_READING and not any(s.constraint_reading for s in scores):
        print("\nno automatic constraint check in scope: --constraints applies with --rater auto")
    return EXIT_OK


def _clarifying(args: argparse.Namespace, app: Application) -> int:
    found = _with_engine(app, lambda engine: engine.conversations.clarification_scores(_filters(args, engine)))
    if args.json:
        print(_json([s.as_json() for s in found]))
        return EXIT_OK
    if not found:
        print("no answers in scope")
        return EXIT_OK
    rows = [("model", "asked → succeeded", "asked needlessly", "guessed → succeeded", "guessed → failed",
             "extra turn")]
    rows += [(s.model, str(s.asked_then_succeeded), str(s.asked_needlessly), str(s.guessed_succeeded),
              str(s.guessed_failed), str(s.extra_turns)) for s in found]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return EXIT_OK


def _compared(args: argparse.Namespace, engine: Engine) -> PairedComparison:
    filters = _filters(args, engine)
    if not args.run:
        raise CliError("--compare needs --run RUN_ID (the suite run whose cases are compared)")
    a, b = args.compare
    return engine.suites.compare_models(args.run, a, b, filters)


def _scores(args: argparse.Namespace, engine: Engine) -> list[ModelScore]:
    filters = _filters(args, engine)
    if args.run:
        return engine.suites.scorecard(args.run, filters, constraints=args.constraints)
    return engine.ratings.scorecard(filters, constraints=args.constraints)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.0f}%"


def _violated(s: ModelScore) -> str:
    """The violation rate, naming the reading of the automatic checks it counts, if any."""
    reading = {"official": " (IFBench)", "desk": " (desk's reading)"}.get(s.constraint_reading or "", "")
    return _pct(s.constraint_violation_rate) + reading


def _print_scorecard(scores: list[ModelScore]) -> None:
    from desk.cli.trial import _fmt_ms  # see _scorecard
    rows = [("model", "rated", "success (95% CI)", "clarifying", "fabricated", "violated",
             "quality", "p95 total", "$/success (95% CI)", "win rate (95% CI)", "warnings")]

    def usd(v: float) -> str:
        return "inf" if v == float("inf") else f"${v:.6f}"  # unbounded: too few successes

    for s in scores:
        success = _pct(s.success_rate)
        if s.success_ci:
            success += f" ({_pct(s.success_ci[0])}-{_pct(s.success_ci[1])})"
        per_success = "-" if s.cost_per_success_usd is None else usd(s.cost_per_success_usd)
        if s.cost_per_success_usd is not None and s.cost_per_success_ci:
            per_success += f" ({usd(s.cost_per_success_ci[0])}-{usd(s.cost_per_success_ci[1])})"
        wins = _pct(s.pairwise_win_rate)
        if s.pairwise_win_ci:
            wins += f" ({_pct(s.pairwise_win_ci[0])}-{_pct(s.pairwise_win_ci[1])}, n={s.pairwise_games})"
        rows.append((
            s.model, str(s.n_rated), success, _pct(s.clarifying_rate), _pct(s.fabrication_rate),
            _violated(s), "-" if s.mean_quality is None else f"{s.mean_quality:.2f}",
            _fmt_ms(s.p95_total_ms), per_success, wins,
            "too few samples" if s.warnings else "",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths).rstrip())
    warned = [s for s in scores if s.warnings]
    if warned:
        print()
        for s in warned:
            for warning in s.warnings:
                print(f"{s.model}: {warning}")

