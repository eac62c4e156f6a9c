"""Two runs of one suite compared, and the suite's timeline: the Suites tab's "Compare runs…"
dialog. The figures, the evidence and the series are desk.engine.run_compare_tab's
RunCompareTab; this lays them out: a table with worse figures in the error colour, the cases
behind the selected figure side by side under it, and a pyqtgraph plot per figure over time
(a line per model, intervals as error bars, a star where the served model changed)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desk.core.run_history import FIGURES
from desk.engine.run_compare_tab import COLUMNS, LABELS, CompareRow, EvidenceRow, RunCompareTab, run_label
from desk.engine.session import Engine, EngineError
from desk.ui import defs, frame_queue, layout
from desk.ui.latest_reads import LatestReads

EVIDENCE_COLUMNS = ("Case", "Run A", "Run B", "Answer in run A", "Answer in run B")
CHANGED_COLOUR = "#c62828"


class RunCompareDialog(QDialog):
    """`run_b` (default: the newest run) against the run before it, as a starting pair."""

    def __init__(self, engine: Engine, suite: str, run_b: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Runs of suite {suite}")
        self.setObjectName("runCompare")
        self.resize(1200, 700)
        self.tab = RunCompareTab(engine, suite)
        self.tab.load_runs()
        self.reads = LatestReads(self)  # a big run's comparison and the timeline of big runs
        self._build()
        for combo in (self.run_a, self.run_b):
            for info in reversed(self.tab.runs):
                combo.addItem(run_label(info), info.run_id)
        pair = self._pair(run_b)
        if pair is not None:
            self.run_a.setCurrentIndex(self.run_a.findData(pair[0]))
            self.run_b.setCurrentIndex(self.run_b.findData(pair[1]))
        self.run_a.currentIndexChanged.connect(lambda _i: self.compare())
        self.run_b.currentIndexChanged.connect(lambda _i: self.compare())
        self.compare()
        self.load_history()

    def done(self, result: int) -> None:
        self.reads.cancel()  # nobody is left to show what they read
        super().done(result)

    def _pair(self, run_b: str | None) -> tuple[str, str] | None:
        ids = [r.run_id for r in self.tab.runs]
        if run_b in ids and ids.index(run_b) > 0:
            return ids[ids.index(run_b) - 1], run_b
        return self.tab.default_pair()

    def _build(self) -> None:
        self.run_a, self.run_b = QComboBox(), QComboBox()
        self.run_a.setObjectName("compareRunA")
        self.run_b.setObjectName("compareRunB")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("compareTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)  # every figure in view
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self.show_evidence)
        self.summary = QLabel()
        self.summary.setObjectName("compareSummary")
        self.summary.setWordWrap(True)
        self.evidence_title = QLabel("Select a figure to see the cases behind it.")
        self.evidence = QTableWidget(0, len(EVIDENCE_COLUMNS))
        self.evidence.setObjectName("compareEvidence")
        self.evidence.setHorizontalHeaderLabels(EVIDENCE_COLUMNS)
        self.evidence.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.evidence.setWordWrap(True)
        self.evidence.verticalHeader().setVisible(False)
        header = self.evidence.horizontalHeader()
        for col in range(3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        for col in (3, 4):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(layout.column(0, (self.table, 1), self.summary))
        split.addWidget(layout.column(0, self.evidence_title, (self.evidence, 1)))
        split.setSizes([420, 240])
        compare = layout.column(defs.MARGIN, layout.row(QLabel("Run A"), (self.run_a, 1), QLabel("Run B"),
                                                        (self.run_b, 1)), (split, 1))
        self.tabs = QTabWidget()
        self.tabs.addTab(compare, "Compare two runs")
        self.tabs.addTab(self._build_history(), "History")
        outer = QVBoxLayout(self)
        outer.addWidget(self.tabs)

    def _build_history(self) -> QWidget:
        self.figure = QComboBox()
        self.figure.setObjectName("historyFigure")
        for name in FIGURES:
            self.figure.addItem(LABELS[name], name)
        self.figure.currentIndexChanged.connect(lambda _i: self.draw_history())
        self.plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
        self.plot.setObjectName("historyPlot")
        self.plot.setBackground(None)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.plot.addLegend(offset=(10, 10))
        self.history_note = QLabel()
        self.history_note.setObjectName("historyNote")
        self.history_note.setWordWrap(True)
        return layout.column(defs.MARGIN, layout.row(QLabel("Figure"), self.figure, None), (self.plot, 1),
                             self.history_note)

    # --- compare ------------------------------------------------------------------------------
    def selected_pair(self) -> tuple[str, str] | None:
        a, b = self.run_a.currentData(), self.run_b.currentData()
        return (a, b) if a and b else None

    def compare(self) -> None:
        self.table.setRowCount(0)
        self.evidence.setRowCount(0)
        pair = self.selected_pair()
        if pair is None or pair[0] == pair[1]:
            self.summary.setText("Choose two different runs of the suite." if len(self.tab.runs) > 1
                                 else "The suite has one run so far: run it again to compare.")
            return
        if self.tab.reads_slowly(*pair):
            self.summary.setText("Comparing the two runs…")
            self.reads.start("compare", lambda job: self.tab.engine.suites.compare_runs_in_background(job, *pair),
                             lambda result: self._fill(self.tab.take(result)), self.summary.setText)
            return
        try:
            rows = self.tab.compare(*pair)
        except EngineError as exc:
            self.summary.setText(str(exc))
            return
        self._fill(rows)

    def _fill(self, rows: list[CompareRow]) -> None:
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row.cells):
                item = QTableWidgetItem(text)
                if row.flag == "worse":
                    item.setForeground(QColor(defs.error_text()))
                elif row.flag == "better":
                    item.setForeground(QColor(defs.ok_text()))
                if c == COLUMNS.index("Served changed") and text != "no":
                    item.setForeground(QColor(defs.error_text()))
                self.table.setItem(r, c, item)
        self.summary.setText(self.tab.summary())

    def row(self, i: int) -> CompareRow:
        return self.tab.rows[i]

    def show_evidence(self) -> list[EvidenceRow]:
        selected = self.table.selectionModel().selectedRows()
        self.evidence.setRowCount(0)
        if not selected:
            return []
        row = self.tab.rows[selected[0].row()]
        found = self.tab.evidence(row)
        what = ("cases whose verdict flipped" if row.figure in FIGURES[:5] else "pairs that changed most")
        self.evidence_title.setText(f"{row.model} · {LABELS[row.figure]}: {len(found)} {what}")
        self.evidence.setRowCount(len(found))
        for r, e in enumerate(found):
            for c, text in enumerate((e.case, e.value_a, e.value_b, e.answer_a, e.answer_b)):
                item = QTableWidgetItem(text)
                item.setToolTip(text if c >= 3 else "")
                self.evidence.setItem(r, c, item)
        self.evidence.resizeRowsToContents()
        return found

    # --- history ------------------------------------------------------------------------------
    def load_history(self) -> None:
        """Read the suite's timeline and draw it: off the GUI thread when its runs are big."""
        if not self.tab.reads_slowly():
            self.tab.load_history()
            self.draw_history()
            return
        self.history_note.setText("Reading the suite's runs…")
        self.reads.start("history", self.tab.load_history_in_background, lambda _: self.draw_history(),
                         self.history_note.setText)

    def draw_history(self) -> None:
        figure = self.figure.currentData() or FIGURES[0]
        self.plot.setUpdatesEnabled(False)  # painted on a turn of its own, not with making its items (issue 21)
        frame_queue.later(self, lambda: self.plot.setUpdatesEnabled(True), soon=True)
        self.plot.clear()
        self.legend.clear()
        series = self.tab.series(figure)
        unit = "%" if figure in FIGURES[:5] else ("$" if figure == "cost_per_success" else "ms")
        self.plot.setLabel("left", f"{LABELS[figure]}" + (" (%)" if unit == "%" else ""))
        notes = []
        for i, s in enumerate(series):
            colour = defs.CHART_COLOURS[i % len(defs.CHART_COLOURS)]
            x, y = np.asarray(s.xs), np.asarray(s.ys)
            self.plot.plot(x, y, pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=7,
                           symbolBrush=colour, name=s.model)
            self.plot.addItem(pg.ErrorBarItem(x=x, y=y, top=np.asarray(s.hi) - y, bottom=y - np.asarray(s.lo),
                                              beam=0, pen=pg.mkPen(colour)))
            if s.changed:
                marks = pg.ScatterPlotItem(x=x[list(s.changed)], y=y[list(s.changed)], symbol="star", size=18,
                                           brush=pg.mkBrush(CHANGED_COLOUR), pen=pg.mkPen(CHANGED_COLOUR))
                self.plot.addItem(marks)
                notes += [f"{s.model}: {n}" for n in s.notes]
        self.history_series = series
        self.history_note.setText(
            ("★ served model changed — " + "; ".join(notes)) if notes else
            "Each point is a run; bars are 95% intervals. A ★ marks a run served another model or fingerprint.")
        if not series:
            self.history_note.setText("No run of the suite has this figure yet.")
