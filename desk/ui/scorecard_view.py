"""The scorecard: per-model rates with intervals, and cost against success on a plot.

The figures are computed on a worker thread (RatingService.scorecard_in_background: its bootstraps
take seconds on a real store); a timer on the GUI thread polls the plain-Python Job for
progress, so the worker never touches Qt and the window keeps responding. A new refresh
cancels the one still computing, and a result that arrives for old filters is ignored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from typing import Any

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desk.core.rating import RatingFilter
from desk.engine.jobs import Job, JobCancelled
from desk.engine.scorecard import ModelScore, cost_success_chart
from desk.engine.session import Engine, EngineError
from desk.ui import defs, frame_queue
from desk.ui.clarifying_table import ClarifyingTable

COLUMNS = [
    ("Model", lambda s: s.model),
    ("Rated", lambda s: str(s.n_rated)),
    ("Success", lambda s: _rate_ci(s.success_rate, s.success_ci)),
    ("Asked clarifying", lambda s: _pct(s.clarifying_rate)),
    ("Fabricated", lambda s: _pct(s.fabrication_rate)),
    ("Constraint violations", lambda s: _violations(s)),
    ("Quality", lambda s: "–" if s.mean_quality is None else f"{s.mean_quality:.2f}"),
    ("Median total", lambda s: _ms_ci(s.median_total_ms, s.median_total_ci)),
    ("p95 total", lambda s: _ms_ci(s.p95_total_ms, s.p95_total_ci)),
    ("Mean cost", lambda s: _usd(s.mean_cost_usd)),
    ("Cost / success", lambda s: _usd_ci(s.cost_per_success_usd, s.cost_per_success_ci)),
    ("Win rate", lambda s: f"{_rate_ci(s.pairwise_win_rate, s.pairwise_win_ci)} (n={s.pairwise_games})"
     if s.pairwise_games else "–"),
    ("Bradley–Terry", lambda s: "–" if s.bt_score is None else
     f"{s.bt_score:.2f} [{s.bt_ci[0]:.2f}, {s.bt_ci[1]:.2f}]" if s.bt_ci else f"{s.bt_score:.2f}"),
    ("Agreement", lambda s: _agreement(s.agreement)),
]


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:.0f}%"


def _violations(s: ModelScore) -> str:
    """The rate, naming the reading of the automatic checks it counts (none: people only)."""
    reading = {"official": " (IFBench)", "desk": " (desk's reading)"}.get(s.constraint_reading or "", "")
    return _pct(s.constraint_violation_rate) + reading


def _rate_ci(v: float | None, ci: tuple[float, float] | None) -> str:
    if v is None:
        return "–"
    return f"{v * 100:.0f}% [{ci[0] * 100:.0f}–{ci[1] * 100:.0f}]" if ci else _pct(v)


def _ms_ci(v: float | None, ci: tuple[float, float] | None) -> str:
    if v is None:
        return "–"
    return f"{v:,.0f} ms [{ci[0]:,.0f}–{ci[1]:,.0f}]" if ci else f"{v:,.0f} ms"


def _usd(v: float | None) -> str:
    from desk.ui.response_pane import fmt_cost

    return "–" if v is None else fmt_cost(v)


def _usd_ci(v: float | None, ci: tuple[float, float] | None) -> str:
    if v is None or not ci:
        return _usd(v)
    upper = "∞" if math.isinf(ci[1]) else _usd(ci[1])  # too few successes to bound it
    return f"{_usd(v)} [{_usd(ci[0])}–{upper}]"


def _agreement(a: dict[str, Any]) -> str:
    if not a:
        return "–"
    parts = []
    for key in ("outcome", "uncertainty", "quality"):
        stats = a.get(key) or {}
        for name, value in stats.items():
            label = "κ" if name == "cohen_kappa" else "α " + name.rsplit("_", 1)[1] if key == "quality" else "α"
            parts.append(f"{key} {label}={'–' if value is None else f'{value:.2f}'}")
    return f"{a.get('raters')} raters, n={a.get('n_items')}: " + ", ".join(parts)


class ScorecardDialog(QDialog):
    def __init__(self, engine: Engine, parent: QWidget | None = None, trial_ids: tuple[str, ...] = ()) -> None:
        super().__init__(parent)
        self.engine = engine
        self.setWindowTitle("Scorecard")
        self.setObjectName("scorecardDialog")
        self.resize(1300, 760)
        self._trial_ids = trial_ids
        col = QVBoxLayout(self)
        col.addLayout(self._filter_row())
        col.addLayout(self._busy_row())
        col.addWidget(self._results(), 1)
        self.clarifying = ClarifyingTable(engine, self.current_filter)
        col.addWidget(self.clarifying)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {defs.muted()};")
        col.addWidget(self.note)
        self.scores: list[ModelScore] = []
        self._job: Job | None = None
        self._task: asyncio.Future[None] | None = None
        self._generation = 0  # which refresh the shown figures (or the one computing) belong to
        self._poll = QTimer(self)
        self._poll.setInterval(100)
        self._poll.timeout.connect(self._show_progress)
        self._set_busy(False)
        self.refresh()

    def _filter_row(self) -> QHBoxLayout:
        filters = QHBoxLayout()
        self.tag = QLineEdit()
        self.tag.setPlaceholderText("tag")
        self.tag.setObjectName("scoreTag")
        self.rater = QLineEdit()
        self.rater.setPlaceholderText("rater")
        self.rater.setObjectName("scoreRater")
        self.use_dates = QCheckBox("Between")
        self.since = QDateEdit(QDate.currentDate().addMonths(-1))
        self.until = QDateEdit(QDate.currentDate())
        for d in (self.since, self.until):
            d.setCalendarPopup(True)
        self.only_trials = QCheckBox(f"Only the {len(self._trial_ids)} open trial(s)")
        self.only_trials.setVisible(bool(self._trial_ids))
        # Which verdict of the automatic constraint checks (rater "auto") counts.
        self.reading = QComboBox()
        self.reading.setObjectName("scoreConstraintReading")
        self.reading.addItem("Constraints: IFBench's verdict", "official")
        self.reading.addItem("Constraints: desk's reading", "desk")
        self.reading.setToolTip("The automatic checks store IFBench's official verdict and desk's reading of "
                                "the instruction; the violation rate counts the one chosen here")
        self.reading.currentIndexChanged.connect(lambda _i: self.refresh())
        refresh = QPushButton("Refresh")
        refresh.setObjectName("scoreRefresh")
        refresh.clicked.connect(self.refresh)
        for w in (QLabel("Filter:"), self.tag, self.rater, self.use_dates, self.since, QLabel("and"),
                  self.until, self.only_trials, self.reading, refresh):
            filters.addWidget(w)
        filters.addStretch(1)
        return filters

    def _busy_row(self) -> QHBoxLayout:
        busy = QHBoxLayout()
        self.busy_label = QLabel()
        self.busy_label.setObjectName("scoreBusy")
        self.busy_bar = QProgressBar()
        self.busy_bar.setMaximumWidth(180)
        self.busy_bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("scoreCancel")
        self.cancel_button.clicked.connect(self.cancel)
        for w in (self.busy_label, self.busy_bar, self.cancel_button):
            busy.addWidget(w)
        busy.addStretch(1)
        return busy

    def _results(self) -> QSplitter:
        """The table above, the cost-against-success plot below."""
        split = QSplitter(Qt.Orientation.Vertical)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("scoreTable")
        self.table.setHorizontalHeaderLabels([c for c, _ in COLUMNS])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        split.addWidget(self.table)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("scorePlot")
        self.plot.setLabel("bottom", "success rate, % (bars: 95% Wilson interval)")
        self.plot.setLabel("left", "cost per successful task, USD")
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)  # "$0.006", not "6 (x0.001)"
        self.plot.setXRange(0, 100)
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        # The plot's place is held until there are figures to plot: painting its empty axes
        # as the dialog opened, and again as the table filled, cost 15-26 ms each (issue 21).
        self.plot_place = QStackedWidget()
        waiting = QLabel("The cost-against-success chart appears once the scorecard is computed.")
        waiting.setAlignment(Qt.AlignmentFlag.AlignCenter)
        waiting.setStyleSheet(f"color: {defs.muted()};")
        self.plot_place.addWidget(waiting)
        self.plot_place.addWidget(self.plot)
        split.addWidget(self.plot_place)
        return split

    @property
    def computing(self) -> bool:
        return self._job is not None

    def current_filter(self) -> RatingFilter:
        since = until = None
        if self.use_dates.isChecked():
            since = dt.datetime.combine(self.since.date().toPython(), dt.time.min).timestamp()
            until = dt.datetime.combine(self.until.date().toPython(), dt.time.max).timestamp()
        return RatingFilter(
            tags=tuple(t.strip() for t in self.tag.text().split(",") if t.strip()),
            rater=self.rater.text().strip() or None,
            since=since,
            until=until,
            trial_ids=self._trial_ids if self.only_trials.isChecked() else (),
        )

    def refresh(self) -> asyncio.Future[None]:
        """Compute the scorecard for the current filters off the GUI thread; returns the task
        that shows it. A refresh while one is computing cancels that one."""
        if self._job is not None:
            self._job.cancel()
        self._generation += 1
        self._job = Job("Scorecard")
        self._set_busy(True)
        self._task = asyncio.ensure_future(self._compute(self._job, self._generation, self.current_filter(),
                                                         self.reading.currentData()))
        return self._task

    def cancel(self) -> None:
        """Stop the computation; the figures shown before (if any) stay."""
        if self._job is None:
            return
        self._job.cancel()
        self._generation += 1  # whatever still arrives is stale
        self._job = None
        if shiboken6.isValid(self):
            self._set_busy(False)

    def done(self, result: int) -> None:
        self.cancel()  # closing the dialog stops the worker: its result has nowhere to go
        super().done(result)

    async def _compute(self, job: Job, generation: int, filters: RatingFilter, reading: str) -> None:
        try:
            scores = await self.engine.ratings.scorecard_in_background(job, filters, constraints=reading)
        except JobCancelled:
            return
        except Exception as exc:
            if self._current(generation):  # never leave it saying "computing" for good
                self._job = None
                self._set_busy(False)
                self.note.setText(f"Could not compute the scorecard: {exc}")
            if not isinstance(exc, EngineError):
                raise  # a bug: on to the app's error dialog
            return
        if self._current(generation):
            self._job = None
            self._set_busy(False)
            self.show_scores(scores)
            self.clarifying.refresh()  # for the filters just scored, while ticked

    def _current(self, generation: int) -> bool:
        # Stale when filters were refreshed or the dialog closed (maybe deleted) meanwhile.
        return generation == self._generation and shiboken6.isValid(self)

    def _set_busy(self, busy: bool) -> None:
        for w in (self.busy_label, self.busy_bar, self.cancel_button):
            w.setVisible(busy)
        if busy:
            self.busy_label.setText("Computing the scorecard…")
            self.busy_bar.setRange(0, 0)  # busy until the job reports its steps
            self._poll.start()
        else:
            self._poll.stop()

    def _show_progress(self) -> None:
        if self._job is None:
            return
        done, total, detail = self._job.snapshot()
        if total:
            self.busy_bar.setRange(0, total)
            self.busy_bar.setValue(min(done, total))
        self.busy_label.setText(f"Computing the scorecard: {detail}…" if detail else "Computing the scorecard…")

    def show_scores(self, scores: list[ModelScore]) -> None:
        self.scores = scores
        self.table.setRowCount(len(self.scores))
        for row, score in enumerate(self.scores):
            for column, (_, get) in enumerate(COLUMNS):
                item = QTableWidgetItem(get(score))
                if score.warnings:
                    item.setToolTip("\n".join(score.warnings))
                self.table.setItem(row, column, item)
        warnings = [f"{s.model}: {w}" for s in self.scores for w in s.warnings]
        self.note.setText("\n".join(f"• {w}" for w in warnings))  # one caveat a line, not one dense paragraph
        # The plot on the next turn: the table painted first, then the plot's items made and
        # painted (together, 30-40 ms of the GUI thread at once, issue 21).
        frame_queue.later(self, self._plot, soon=True)

    def _plot(self) -> None:
        self.plot.setUpdatesEnabled(False)  # painted on a turn of its own (making 15 ms, painting 15 ms)
        frame_queue.later(self, lambda: self.plot.setUpdatesEnabled(True), soon=True)
        self.plot_place.setCurrentWidget(self.plot)
        self.plot.clear()
        self.plot.setXRange(0, 100)
        colours = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#ad1457"]
        points, (low, high) = cost_success_chart(self.scores)
        self.plot.setYRange(low, high, padding=0.05)  # one shared value still gets a real axis
        for i, p in enumerate(points):
            colour = colours[i % len(colours)]
            if p.ci_pct:
                self.plot.addItem(pg.ErrorBarItem(x=np.array([p.success_pct]), y=np.array([p.y]),
                                                  left=np.array([p.success_pct - p.ci_pct[0]]),
                                                  right=np.array([p.ci_pct[1] - p.success_pct]),
                                                  beam=0.0, pen=pg.mkPen(colour, width=2)))
            symbol = "o" if p.cost is not None else "t"  # a triangle on the top edge: cost not known
            self.plot.plot([p.success_pct], [p.y], pen=None, symbol=symbol, symbolBrush=colour, symbolSize=10,
                           name=", ".join(p.models))
            label = pg.TextItem(p.label, color=colour, anchor=(0, 1))
            label.setPos(p.success_pct, p.y)
            self.plot.addItem(label)
