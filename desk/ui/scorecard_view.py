"""The scorecard: per-model rates with intervals, and cost against success on a plot."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desk.engine.scorecard import ModelScore
from desk.engine.session import Engine, ScoreFilter
from desk.ui import defs

COLUMNS = [
    ("Model", lambda s: s.model),
    ("Rated", lambda s: str(s.n_rated)),
    ("Success", lambda s: _rate_ci(s.success_rate, s.success_ci)),
    ("Asked clarifying", lambda s: _pct(s.clarifying_rate)),
    ("Fabricated", lambda s: _pct(s.fabrication_rate)),
    ("Constraint violations", lambda s: _pct(s.constraint_violation_rate)),
    ("Quality", lambda s: "–" if s.mean_quality is None else f"{s.mean_quality:.2f}"),
    ("Median total", lambda s: _ms_ci(s.median_total_ms, s.median_total_ci)),
    ("p95 total", lambda s: _ms_ci(s.p95_total_ms, s.p95_total_ci)),
    ("Mean cost", lambda s: _usd(s.mean_cost_usd)),
    ("Cost / success", lambda s: _usd(s.cost_per_success_usd)),
    ("Win rate", lambda s: f"{_pct(s.pairwise_win_rate)} (n={s.pairwise_games})" if s.pairwise_games else "–"),
    ("Bradley–Terry", lambda s: "–" if s.bt_score is None else
     f"{s.bt_score:.2f} [{s.bt_ci[0]:.2f}, {s.bt_ci[1]:.2f}]" if s.bt_ci else f"{s.bt_score:.2f}"),
    ("Agreement", lambda s: _agreement(s.agreement)),
]


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:.0f}%"


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


def _agreement(a: dict[str, Any]) -> str:
    if not a:
        return "–"
    parts = []
    for key in ("outcome", "uncertainty"):
        stats = a.get(key) or {}
        for name, value in stats.items():
            label = "κ" if name == "cohen_kappa" else "α"
            parts.append(f"{key} {label}={'–' if value is None else f'{value:.2f}'}")
    return f"{a.get('raters')} raters, n={a.get('n_items')}: " + ", ".join(parts)


class ScorecardDialog(QDialog):
    def __init__(self, engine: Engine, parent: QWidget | None = None, trial_ids: tuple[str, ...] = ()) -> None:
        super().__init__(parent)
        self.engine = engine
        self.setWindowTitle("Scorecard")
        self.setObjectName("scorecardDialog")
        self.resize(1300, 760)
        col = QVBoxLayout(self)
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
        self.only_trials = QCheckBox(f"Only the {len(trial_ids)} open trial(s)")
        self.only_trials.setVisible(bool(trial_ids))
        self._trial_ids = trial_ids
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        for w in (QLabel("Filter:"), self.tag, self.rater, self.use_dates, self.since, QLabel("and"),
                  self.until, self.only_trials, refresh):
            filters.addWidget(w)
        filters.addStretch(1)
        col.addLayout(filters)
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
        split.addWidget(self.plot)
        col.addWidget(split, 1)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {defs.muted()};")
        col.addWidget(self.note)
        self.scores: list[ModelScore] = []
        self.refresh()

    def current_filter(self) -> ScoreFilter:
        since = until = None
        if self.use_dates.isChecked():
            since = dt.datetime.combine(self.since.date().toPython(), dt.time.min).timestamp()
            until = dt.datetime.combine(self.until.date().toPython(), dt.time.max).timestamp()
        return ScoreFilter(
            tags=tuple(t.strip() for t in self.tag.text().split(",") if t.strip()),
            rater=self.rater.text().strip() or None,
            since=since,
            until=until,
            trial_ids=self._trial_ids if self.only_trials.isChecked() else (),
        )

    def refresh(self) -> None:
        self.scores = self.engine.scorecard(self.current_filter())
        self.table.setRowCount(len(self.scores))
        for row, score in enumerate(self.scores):
            for column, (_, get) in enumerate(COLUMNS):
                item = QTableWidgetItem(get(score))
                if score.warnings:
                    item.setToolTip("\n".join(score.warnings))
                self.table.setItem(row, column, item)
        warnings = [f"{s.model}: {w}" for s in self.scores for w in s.warnings]
        self.note.setText("  •  ".join(warnings) if warnings else "")
        self._plot()

    def _plot(self) -> None:
        self.plot.clear()
        self.plot.setXRange(0, 100)
        colours = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#ad1457"]
        for i, s in enumerate(self.scores):
            if s.success_rate is None or s.cost_per_success_usd is None:
                continue
            colour = colours[i % len(colours)]
            x, y = s.success_rate * 100, s.cost_per_success_usd
            if s.success_ci:
                lo, hi = s.success_ci[0] * 100, s.success_ci[1] * 100
                self.plot.addItem(pg.ErrorBarItem(x=np.array([x]), y=np.array([y]),
                                                  left=np.array([x - lo]), right=np.array([hi - x]),
                                                  beam=0.0, pen=pg.mkPen(colour, width=2)))
            self.plot.plot([x], [y], pen=None, symbol="o", symbolBrush=colour, symbolSize=10, name=s.model)
            label = pg.TextItem(s.model, color=colour, anchor=(0, 1))
            label.setPos(x, y)
            self.plot.addItem(label)
