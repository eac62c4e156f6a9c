"""`desk suite history SUITE [--model M] [--json]`: every run of a suite, oldest first, each
model's figures with their intervals, and where the vendor's served model changed.

Registered by desk.cli.suite; the figures are desk.core.run_history's. Presentation only:
per model, a table of rates and one of time and cost, a row per run; a run whose served
model differs from the model's previous run is starred, the change said under the table.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import TYPE_CHECKING, Any

from desk.cli.common import _json, _with_engine
from desk.core.run_history import MEASURE_FIGURES, RATE_FIGURES, HistoryFigure, HistoryPoint

if TYPE_CHECKING:
    from desk.engine.application import Application

_LABELS = {"constraint_violated": "violated", "asked_clarifying": "clarifying", "needless_refusal": "refusal",
           "ttft_p50": "ttft p50 ms", "ttft_p95": "ttft p95 ms", "total_p95": "total p95 ms",
           "cost_per_success": "$/success"}


def register(ssub: Any, db: argparse.ArgumentParser) -> None:  # argparse names no public type for it
    hist = ssub.add_parser(
        "history", parents=[db], help="every run of a suite, oldest first: figures, intervals, served changes",
        description="Per model, every run of SUITE (all its versions), oldest first: the success, "
                    "constraint-violated, clarifying, needless-refusal and fabricated rates with 95% "
                    "Wilson intervals (verdicts from people where they rated, else desk's automatic "
                    "constraint check), TTFT p50/p95 and total p95 with bootstrap intervals, and cost "
                    "per successful task. A run marked * was served another model or fingerprint "
                    "than the model's previous run.",
    )
    hist.add_argument("name", metavar="SUITE")
    hist.add_argument("--model", "-m", metavar="NAME/MODEL", help="only this model")
    hist.add_argument("--json", action="store_true", help="one JSON object per run and model, oldest first")
    hist.set_defaults(handler=history)


def history(args: argparse.Namespace, app: Application) -> int:
    points = _with_engine(app, lambda e: e.suites.history(args.name, model=args.model))
    if args.json:
        for p in points:
            print(_json(p.as_json()))
        return 0
    if not points:
        print(f"no runs of suite {args.name!r} yet; start one with: desk suite run {args.name} -m PROVIDER/MODEL")
        return 0
    for model in dict.fromkeys(p.model for p in points):
        mine = [p for p in points if p.model == model]
        print(f"{model}: {len(mine)} run(s)")
        _table(mine, RATE_FIGURES)
        _table(mine, MEASURE_FIGURES)
        for p in mine:
            if p.served_changed:
                print(f"  * {p.run.run_id}: served {p.served_changed}")
    return 0


def _table(points: list[HistoryPoint], names: tuple[str, ...]) -> None:
    rows = [("run", "date", "v", "answers", *(_LABELS.get(n, n) for n in names))]
    for p in points:
        when = time.strftime("%Y-%m-%d", time.localtime(p.run.created_at))
        mark = "*" if p.served_changed else ""
        version = "-" if p.run.suite_version is None else str(p.run.suite_version)
        rows.append((p.run.run_id + mark, when, version, str(p.answers), *(cell(p.figure(n)) for n in names)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))


def cell(f: HistoryFigure) -> str:
    """"62% [41-80] n=8", "120 [100-140]", "$0.0012 [0.001-inf]"; "-" when there is nothing."""
    if f.value is None:
        return "-"
    if f.unit == "rate":
        text = f"{f.value * 100:.0f}%"
        interval = "" if f.interval is None else f" [{f.interval[0] * 100:.0f}-{f.interval[1] * 100:.0f}]"
        return f"{text}{interval} n={f.n}"
    fmt = _ms if f.unit == "ms" else _usd
    interval = "" if f.interval is None else f" [{fmt(f.interval[0])}-{fmt(f.interval[1])}]"
    return f"{fmt(f.value)}{interval}"


def _ms(v: float) -> str:
    return "inf" if math.isinf(v) else f"{v:,.0f}"


def _usd(v: float) -> str:
    return "inf" if math.isinf(v) else f"{v:.2g}"
