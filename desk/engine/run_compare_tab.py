"""The Suites tab's "Compare runs" dialog without Qt: two runs of one suite side by side
(desk suite compare's figures), the evidence behind a figure, and the suite's timeline.

The widget (desk/ui/run_compare_view.py) lays this out; tests drive it without a window.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from desk.core.response import ResponseResult
from desk.core.run_compare import ALPHA, MeasureFigure, RateFigure, RunComparison
from desk.core.run_history import FIGURES, HistoryFigure, HistoryPoint
from desk.engine import suites_tab  # by module: its BIG_RUN is the one threshold
from desk.engine.jobs import Job
from desk.engine.run_compare import EvidencePair
from desk.engine.session import Engine, SuiteRunInfo

COLUMNS = ("Model", "Figure", "n", "Run A", "Run B", "B − A", "Interval", "p", "p Holm", "Source", "Flag",
           "Served changed")
LABELS = {"success": "Success", "constraint_violated": "Constraint violated", "asked_clarifying": "Asked clarifying",
          "needless_refusal": "Needless refusal", "fabricated": "Fabricated", "ttft_p50": "TTFT p50 (ms)",
          "ttft_p95": "TTFT p95 (ms)", "total_p95": "Total p95 (ms)", "cost_per_success": "Cost per success ($)"}


@dataclass(frozen=True)
class CompareRow:
    """One figure of one model, as the table shows it."""

    model: str
    figure: str
    cells: tuple[str, ...]  # in COLUMNS order
    flag: str | None  # "worse" | "better" | None
    changed: bool  # the figure's value differs in the two runs: there is evidence to show


@dataclass(frozen=True)
class EvidenceRow:
    case: str  # "case-3" or "case-3 #2" for a later sample
    value_a: str
    value_b: str
    answer_a: str
    answer_b: str
    response_a: str
    response_b: str


@dataclass(frozen=True)
class Series:
    """One model's line of one figure over the suite's runs: x is the run's time (seconds
    since the epoch), y its value, lo/hi the interval (y itself when there is none); `changed`
    the indexes of the runs whose served model changed, `notes` what changed."""

    model: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    changed: tuple[int, ...]
    notes: tuple[str, ...]


def run_label(info: SuiteRunInfo) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.created_at))
    name = f" {info.name}" if info.name else ""
    return f"{when}  v{info.suite_version}{name}  ({info.run_id})"


class RunCompareTab:
    def __init__(self, engine: Engine, suite: str) -> None:
        self.engine = engine
        self.suite = suite
        self.runs: list[SuiteRunInfo] = []  # of this suite, oldest first
        self.result: RunComparison | None = None
        self.rows: list[CompareRow] = []
        self.points: list[HistoryPoint] = []

    def load(self) -> None:
        """The suite's runs and its timeline (raises EngineError for a suite never stored)."""
        self.load_runs()
        self.load_history()

    def load_history(self) -> None:
        """The suite's timeline (desk.engine.run_history)."""
        self.points = self.engine.suites.history(self.suite)

    def load_runs(self) -> None:
        """The suite's runs, oldest first."""
        found = [r for r in self.engine.suites.list_runs(10_000) if r.suite == self.suite]
        self.runs = sorted(found, key=lambda r: (r.created_at, r.run_id))

    def reads_slowly(self, *run_ids: str) -> bool:
        """Whether reading these runs back (all the suite's when none is named: its timeline)
        takes long enough to be done off the GUI thread: more than BIG_RUN answers in all."""
        return sum(r.total for r in self.runs if not run_ids or r.run_id in run_ids) > suites_tab.BIG_RUN

    async def load_history_in_background(self, job: Job) -> None:
        """The suite's timeline read on a worker thread with its own connection."""
        self.points = await self.engine.suites.history_in_background(job, self.suite)

    def default_pair(self) -> tuple[str, str] | None:
        """The last two runs (the previous one as A): the question asked most often."""
        if len(self.runs) < 2:
            return None
        return self.runs[-2].run_id, self.runs[-1].run_id

    def compare(self, run_a: str, run_b: str, alpha: float = ALPHA) -> list[CompareRow]:
        return self.take(self.engine.suites.compare_runs(run_a, run_b, alpha=alpha))

    def take(self, result: RunComparison) -> list[CompareRow]:
        """`result` as the comparison shown (engine.suites.compare_runs_in_background's, read
        off the GUI thread): its rows."""
        self.result = result
        self.rows = [row for m in result.models for row in _rows(m.model, m.served_changed, [*m.rates, *m.measures])]
        return self.rows

    def summary(self) -> str:
        """One sentence under the table: what is flagged, and what was left out."""
        if self.result is None:
            return ""
        worse = [f"{r.model} {LABELS[r.figure].lower()}" for r in self.rows if r.flag == "worse"]
        better = [f"{r.model} {LABELS[r.figure].lower()}" for r in self.rows if r.flag == "better"]
        parts = [f"Worse: {', '.join(worse)}." if worse else "No figure is worse.",
                 f"Better: {', '.join(better)}." if better else ""]
        parts.append(f"Flagged when Holm's corrected p < {self.result.alpha:g}; intervals are "
                     f"{self.result.confidence:.0%} paired bootstrap intervals of B − A.")
        parts += [f"{w[0].upper()}{w[1:]}." for w in self.result.warnings]
        return " ".join(p for p in parts if p)

    def evidence(self, row: CompareRow) -> list[EvidenceRow]:
        """The cases behind a row: flipped verdicts, or the largest changes of a time or cost."""
        assert self.result is not None
        pairs = self.engine.suites.compare_evidence(self.result.run_a, self.result.run_b, row.model, row.figure)
        return [_evidence_row(p, row.figure) for p in pairs]

    def series(self, figure: str) -> list[Series]:
        """One line per model of `figure` over the suite's runs (runs without a value left out)."""
        if figure not in FIGURES:
            raise ValueError(f"no figure {figure!r}")
        out = []
        for model in dict.fromkeys(p.model for p in self.points):
            mine = [(p, p.figure(figure)) for p in self.points if p.model == model]
            kept = [(p, f) for p, f in mine if f.value is not None and math.isfinite(f.value)]
            if not kept:
                continue
            scale = 100.0 if kept[0][1].unit == "rate" else 1.0
            ys = tuple(f.value * scale for _, f in kept if f.value is not None)
            lo = tuple(_bound(f, 0) * scale for _, f in kept)
            hi = tuple(_bound(f, 1) * scale for _, f in kept)
            out.append(Series(model, tuple(p.run.created_at for p, _ in kept), ys, lo, hi,
                              tuple(i for i, (p, _) in enumerate(kept) if p.served_changed),
                              tuple(p.served_changed for p, _ in kept if p.served_changed)))
        return out


def _bound(f: HistoryFigure, i: int) -> float:
    assert f.value is not None
    if f.interval is None or not math.isfinite(f.interval[i]):
        return f.value
    return f.interval[i]


def _rows(model: str, served_changed: str | None, figures: list[RateFigure | MeasureFigure]) -> list[CompareRow]:
    rows = []
    for f in figures:
        tested = f.p_holm is not None
        p = _p(f.p_value) if tested else "–"
        if isinstance(f, RateFigure):
            a, b, diff, interval, source = _pct(f.rate_a), _pct(f.rate_b), _pct(f.diff, True), "–", f.source_label
            changed = f.only_a + f.only_b > 0
        else:
            fmt = _usd if f.unit == "usd" else _ms
            a, b, diff, source = fmt(f.value_a), fmt(f.value_b), fmt(f.diff, True), "–"
            interval = "–" if f.interval is None else f"[{fmt(f.interval[0], True)}, {fmt(f.interval[1], True)}]"
            changed = f.n > 0 and f.value_a != f.value_b
        cells = (model, LABELS[f.name], str(f.n), a, b, diff, interval, p, _p(f.p_holm), source or "–",
                 (f.flag or "").upper(), served_changed or "no")
        rows.append(CompareRow(model, f.name, cells, f.flag, changed))
    return rows


def _evidence_row(p: EvidencePair, figure: str) -> EvidenceRow:
    case = p.case_key if p.sample == 0 else f"{p.case_key} #{p.sample + 1}"

    def value(v: bool | float | None) -> str:
        if isinstance(v, bool):
            return "yes" if v else "no"
        return (_usd if figure == "cost_per_success" else _ms)(v)

    def answer(r: ResponseResult) -> str:
        return r.text if not r.failed else f"(failed: {r.error_message or 'error'})"

    return EvidenceRow(case, value(p.value_a), value(p.value_b), answer(p.answer_a), answer(p.answer_b),
                       p.answer_a.id, p.answer_b.id)


def _p(v: float | None) -> str:
    return "–" if v is None else f"{v:.2g}"


def _pct(v: float | None, signed: bool = False) -> str:
    return "–" if v is None else f"{v * 100:{'+' if signed else ''}.1f}%"


def _ms(v: float | None, signed: bool = False) -> str:
    if v is None:
        return "–"
    return ("+∞" if v > 0 else "−∞") if math.isinf(v) else f"{v:{'+' if signed else ''},.0f}"


def _usd(v: float | None, signed: bool = False) -> str:
    if v is None:
        return "–"
    return ("+∞" if v > 0 else "−∞") if math.isinf(v) else f"{v:{'+' if signed else ''}.2g}"
