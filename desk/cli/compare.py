"""`desk suite compare RUN_A RUN_B [--json]`: two runs of one suite, answer by answer.

Registered by desk.cli.suite; the pairing and the statistics are desk.engine.run_compare's
and desk.core.run_compare's. Presentation only.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from desk.core.run_compare import ModelComparison, RunComparison


def add_parser(ssub: Any, db: argparse.ArgumentParser) -> None:
    cmp = ssub.add_parser(
        "compare", parents=[db], help="compare two runs of a suite: rates, McNemar p-values, TTFT, served model",
        description="Pairs the two runs' answers by case x model x sample (cases only one run has are "
                    "left out and counted). Per model: success and constraint-violated rates of both "
                    "runs, the paired difference (B - A) and an exact McNemar p-value on the pairs "
                    "that changed; TTFT p50/p95 of both runs; and served_changed when the vendor "
                    "reported a different served model or fingerprint in the two runs.",
    )
    cmp.add_argument("run_a", metavar="RUN_A")
    cmp.add_argument("run_b", metavar="RUN_B")
    cmp.add_argument("--json", action="store_true", help="one JSON object for the whole comparison")


def compare(args: argparse.Namespace, store: Any, h: Any, engine: Callable[..., Any]) -> int:
    """`engine(store, h, use)` runs `use(engine)` on an Engine (desk.cli.suite's helper)."""
    from desk.engine.run_compare import compare_suite_runs
    from desk.engine.suite_run import SuiteRunError

    def use(e: Any) -> RunComparison:
        try:
            return compare_suite_runs(e, args.run_a, args.run_b)
        except SuiteRunError as exc:
            raise h.error(str(exc)) from None

    result: RunComparison = engine(store, h, use)
    if args.json:
        print(h.json(result.as_json()))
        return 0
    print_comparison(result)
    return 0


def table_rows(m: ModelComparison) -> list[tuple[str, ...]]:
    served = m.served_changed or ""
    rows = [(m.model, r.name, str(r.n), _pct(r.rate_a), _pct(r.rate_b), _pct(r.diff, signed=True),
             f"{r.p_value:.4g}", "+".join(r.sources) or "-", served) for r in m.rates]
    for name, (a, b) in (("ttft_p50", m.ttft_p50), ("ttft_p95", m.ttft_p95)):
        diff = None if a is None or b is None else b - a
        rows.append((m.model, name, str(m.pairs), _ms(a), _ms(b), _ms(diff, signed=True), "-", "-", served))
    return rows


def print_comparison(result: RunComparison) -> None:
    header = ("model", "figure", "n", "run A", "run B", "B - A", "p (McNemar)", "source", "served_changed")
    rows = [header, *(row for m in result.models for row in table_rows(m))]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    print(f"run A {result.run_a} vs run B {result.run_b}")
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if not result.models:
        print("no answers the two runs share")
    for warning in result.warnings:
        print(f"note: {warning}")


def _pct(v: float | None, *, signed: bool = False) -> str:
    return "-" if v is None else f"{v * 100:{'+' if signed else ''}.1f}%"


def _ms(v: float | None, *, signed: bool = False) -> str:
    return "-" if v is None else f"{v:{'+' if signed else ''},.0f} ms"
