"""`desk suite compare RUN_A RUN_B [--alpha A] [--json]`: two runs of one suite, answer by answer.

Registered by desk.cli.suite; the pairing and the statistics are desk.engine.run_compare's
and desk.core.run_compare's. Presentation only: the table fits 100 columns, one block per
model; --json carries every figure with its counts, p-values and interval.
"""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any

from desk.cli.common import _json, _with_engine
from desk.core.run_compare import ALPHA, MeasureFigure, ModelComparison, RateFigure, RunComparison

if TYPE_CHECKING:
    from desk.engine.application import Application

# Short names for the table (the JSON keeps the full figure names).
_LABELS = {"constraint_violated": "violated", "asked_clarifying": "clarifying", "needless_refusal": "refusal",
           "ttft_p50": "ttft_p50 ms", "ttft_p95": "ttft_p95 ms", "total_p95": "total_p95 ms",
           "cost_per_success": "$/success"}
HEADER = ("figure", "n", "run A", "run B", "B - A", "interval", "p", "p Holm", "source", "flag")


def _alpha(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"alpha must be between 0 and 1, got {text}")
    return value


def register(ssub: Any, db: argparse.ArgumentParser) -> None:  # argparse names no public type for it
    cmp = ssub.add_parser(
        "compare", parents=[db], help="compare two runs of a suite: rates, latency, cost, flagged changes",
        description="Pairs the two runs' answers by case x model x sample (cases only one run has are "
                    "left out and counted). Per model: the success, constraint-violated, asked-a-needed-"
                    "clarifying-question, needless-refusal and fabricated rates of both runs with n, "
                    "the paired difference (B - A), an exact McNemar p-value on the pairs that changed "
                    "and the verdicts' source (people where they rated, else a judge model's "
                    "verdicts, else, for constraints, desk's automatic check; with each source's "
                    "number of verdicts when a figure mixes them); TTFT p50/p95, total p95 and "
                    "cost per successful task of both runs with a paired bootstrap interval of the difference; Holm's correction "
                    "across the model's figures, flagging a figure worse or better when its corrected "
                    "p is under --alpha; and served_changed when the vendor reported a different "
                    "served model or fingerprint in the two runs.",
    )
    cmp.add_argument("run_a", metavar="RUN_A")
    cmp.add_argument("run_b", metavar="RUN_B")
    cmp.add_argument("--alpha", type=_alpha, default=ALPHA,
                     help=f"flag a figure when its Holm-corrected p is under this (default {ALPHA}); "
                          "intervals are at 1 - alpha")
    cmp.add_argument("--json", action="store_true", help="one JSON object for the whole comparison")
    cmp.set_defaults(handler=compare)


def compare(args: argparse.Namespace, app: Application) -> int:
    result = _with_engine(app, lambda e: e.suites.compare_runs(args.run_a, args.run_b, alpha=args.alpha))
    if args.json:
        print(_json(result.as_json()))
        return 0
    print_comparison(result)
    return 0


def table_rows(m: ModelComparison) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for r in m.rates:
        rows.append(_row(r, _pct(r.rate_a), _pct(r.rate_b), _pct(r.diff, signed=True), "-",
                         r.source_label or "-"))
    for x in m.measures:
        fmt = _money if x.unit == "usd" else _ms
        interval = "-" if x.interval is None else f"[{fmt(x.interval[0], signed=True)}, {fmt(x.interval[1], signed=True)}]"
        rows.append(_row(x, fmt(x.value_a), fmt(x.value_b), fmt(x.diff, signed=True), interval, "-"))
    return rows


def _row(f: RateFigure | MeasureFigure, a: str, b: str, diff: str, interval: str, source: str) -> tuple[str, ...]:
    tested = f.p_holm is not None
    return (_LABELS.get(f.name, f.name), str(f.n), a, b, diff, interval,
            _p(f.p_value) if tested else "-", _p(f.p_holm), source, (f.flag or "").upper())


def print_comparison(result: RunComparison) -> None:
    print(f"run A {result.run_a} vs run B {result.run_b}")
    print(f"flag: Holm-corrected p under alpha {result.alpha:g}; interval: {result.confidence:.0%} paired "
          "bootstrap of B - A")
    for m in result.models:
        print(f"{m.model}: {m.pairs} pair(s); served_changed: {m.served_changed or 'no'}")
        rows = [HEADER, *table_rows(m)]
        widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
        for i, row in enumerate(rows):
            print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
            if i == 0:
                print("  " + "  ".join("-" * w for w in widths))
    if not result.models:
        print("no answers the two runs share")
    for warning in result.warnings:
        print(f"note: {warning}")


def _p(v: float | None) -> str:
    return "-" if v is None else f"{v:.2g}"


def _pct(v: float | None, *, signed: bool = False) -> str:
    return "-" if v is None else f"{v * 100:{'+' if signed else ''}.1f}%"


def _ms(v: float | None, *, signed: bool = False) -> str:
    if v is None:
        return "-"
    return ("+inf" if v > 0 else "-inf") if math.isinf(v) else f"{v:{'+' if signed else ''},.0f}"


def _money(v: float | None, *, signed: bool = False) -> str:
    if v is None:
        return "-"
    return ("+inf" if v > 0 else "-inf") if math.isinf(v) else f"{v:{'+' if signed else ''}.2g}"
