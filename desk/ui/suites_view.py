"""The Suites tab: suites (import, export), suite runs (start, cancel, resume) and a run's
matrix of cases x models, which fills in live while the run streams.

The run is an asyncio task on the qasync loop (as a trial is): every engine callback arrives
on the GUI thread. The callbacks only note what changed; a timer on the GUI thread redraws at
most a few times a second, so a fast run never floods the window. The matrix is a
QAbstractTableModel behind a QTableView: one model for thousands of cells, no widget per cell.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desk.core.response import ResponseResult
from desk.core.suite import EXPECT_KINDS, Case
from desk.core.trial import ModelRef
from desk.engine.session import Engine, EngineError, SuiteInfo, SuiteMatrix, SuiteRunInfo
from desk.engine.suite_run import MatrixCell
from desk.ui import defs
from desk.ui.response_pane import fmt_cost, fmt_ms

log = logging.getLogger("desk.ui.suites")

STARTER = "starter"
REFRESH_MS = 250  # live matrix redraws: at most 4 a second
RELOAD_BUDGET = 0.1  # ... and reading the matrix back may use at most a tenth of the GUI's time
ANY = "__any__"
NO_EXPECT = "__none__"
RATED, UNRATED = "rated", "unrated"
TRIAL_ROLE = Qt.ItemDataRole.UserRole
RESPONSE_ROLE = Qt.ItemDataRole.UserRole + 1


# --- cell text -----------------------------------------------------------------------------------


def status_text(cell: MatrixCell | None) -> str:
    """The first line of a cell: its status, TTFT, total and cost."""
    if cell is None or cell.status is None:
        return "not sent yet"
    if cell.status == "streaming":
        return "streaming…"
    if cell.status == "ok":
        cost = "no price" if cell.cost_usd is None else fmt_cost(cell.cost_usd)
        return f"ok · TTFT {fmt_ms(cell.ttft_ms)} · {fmt_ms(cell.total_ms)} · {cost}"
    kind = cell.error_kind or cell.status
    tries = f" · {cell.answers} tries" if cell.answers > 1 else ""
    return f"{cell.status}: {kind.replace('_', ' ')}{tries}"


def rating_text(cell: MatrixCell | None, expect: str) -> str:
    """The rating line: ✓ showed the expected behaviour, ✗ did not, • no behaviour expected."""
    if cell is None or cell.response_id is None:
        return ""
    parts: list[str] = []
    human = cell.human
    if human is None:
        parts.append("unrated")
    else:
        mark = "•" if human.handled is None else ("✓" if human.handled else "✗")
        behaviour = human.constraints if expect == "follow_constraints" else human.uncertainty
        head = " · ".join(v for v in (human.outcome, behaviour) if v)
        quality = ""
        if human.quality is not None:
            q = human.quality
            quality = f" · q{q:.0f}" if float(q).is_integer() else f" · q{q:.1f}"
        parts.append(f"{mark} {head or 'rated'}{quality}")
    if cell.auto_constraints:
        parts.append(f"auto {cell.auto_constraints}")
    return " · ".join(parts)


def cell_text(cell: MatrixCell | None, expect: str) -> str:
    if cell is None:
        return "not sent yet"
    lines = [status_text(cell)]
    if cell.status is not None:
        lines.append(cell.first_line or ("(no text)" if cell.status != "streaming" else ""))
        lines.append(rating_text(cell, expect))
    return "\n".join(lines)


def cell_tooltip(cell: MatrixCell | None, expect: str) -> str:
    if cell is None or cell.status is None:
        return "Not sent yet."
    lines = [cell.model, f"case {cell.case_key}" + (f", sample {cell.sample + 1}" if cell.sample else ""),
             status_text(cell)]
    if cell.first_line:
        lines.append(f"“{cell.first_line}”")
    human = cell.human
    if human is not None:
        lines.append(f"rated by {', '.join(human.raters)}: {rating_text(cell, expect)}")
    if cell.auto_constraints:
        lines.append(f"automatic constraint check: {cell.auto_constraints}"
                     + (f" ({cell.auto_note})" if cell.auto_note else ""))
    if cell.answers > 1:
        lines.append(f"{cell.answers} answers stored for this cell (the ok one counts)")
    lines.append("Click or press Enter: open this case side by side in Trials.")
    return "\n".join(lines)


def _first_line(text: str, limit: int = 160) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:limit]
    return ""


# --- the matrix model -------------------------------------------------------------------------


class MatrixRow:
    """One (case, sample) of a run: its cells in the run's model order."""

    __slots__ = ("case", "cells", "sample", "trial_id")

    def __init__(self, case: Case, sample: int, cells: list[MatrixCell | None]) -> None:
        self.case = case
        self.sample = sample
        self.cells = cells
        self.trial_id = next((c.trial_id for c in cells if c is not None and c.trial_id), None)

    def answered(self) -> list[MatrixCell]:
        return [c for c in self.cells if c is not None and c.response_id is not None and c.status != "streaming"]

    def rated(self) -> bool:
        """Every answer of this case has a person's rating (and there is at least one answer)."""
        answered = self.answered()
        return bool(answered) and all(c.human is not None for c in answered)


class MatrixModel(QAbstractTableModel):
    """Rows: the cases (x samples) of a run; column 0 the case, then one column per model."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.matrix: SuiteMatrix | None = None
        self.models: tuple[str, ...] = ()
        self.rows: list[MatrixRow] = []
        self.updates = 0  # cells changed in place (for tests and the curious)

    # --- filling --------------------------------------------------------------------------
    def set_matrix(self, matrix: SuiteMatrix | None) -> None:
        """Show a run; the same run again updates only the cells that changed."""
        rows = self._rows(matrix) if matrix is not None else []
        same = (matrix is not None and self.matrix is not None and matrix.run.run_id == self.matrix.run.run_id
                and matrix.models == self.models and len(rows) == len(self.rows))
        if not same:
            self.beginResetModel()
            self.matrix = matrix
            self.models = matrix.models if matrix is not None else ()
            self.rows = rows
            self.endResetModel()
            return
        self.matrix = matrix
        old, self.rows = self.rows, rows
        last = self.columnCount() - 1
        for r, (before, after) in enumerate(zip(old, rows, strict=True)):
            if before.cells != after.cells or before.case != after.case:
                self.updates += 1
                self.dataChanged.emit(self.index(r, 0), self.index(r, last))

    @staticmethod
    def _rows(matrix: SuiteMatrix) -> list[MatrixRow]:
        by_key = {(c.case_id, c.sample, c.model): c for c in matrix.cells}
        return [MatrixRow(case, sample, [by_key.get((case.id or "", sample, m)) for m in matrix.models])
                for case in matrix.suite.cases for sample in range(matrix.repeat)]

    # --- reading --------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self.matrix is None else 1 + len(self.models)

    def cell_at(self, index: QModelIndex | QPersistentModelIndex) -> MatrixCell | None:
        if not index.isValid() or index.column() == 0:
            return None
        return self.rows[index.row()].cells[index.column() - 1]

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row = self.rows[index.row()]
        col = index.column()
        expect = row.case.expect
        if col == 0:
            if role == Qt.ItemDataRole.DisplayRole:
                return self._case_text(row)
            if role == Qt.ItemDataRole.ToolTipRole:
                return self._case_tooltip(row)
            if role == TRIAL_ROLE:
                return row.trial_id
            return None
        cell = row.cells[col - 1]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(cell, expect)
        if role == Qt.ItemDataRole.ToolTipRole:
            return cell_tooltip(cell, expect)
        if role == TRIAL_ROLE:
            return cell.trial_id if cell is not None else None
        if role == RESPONSE_ROLE:
            return cell.response_id if cell is not None else None
        if role == Qt.ItemDataRole.BackgroundRole and cell is not None:
            if cell.status in ("error", "interrupted"):
                return QBrush(QColor(defs.error_tint()))
            if cell.status == "streaming":
                return QBrush(QColor(defs.info_tint()))
        if role == Qt.ItemDataRole.ForegroundRole and (cell is None or cell.status is None):
            return QBrush(QColor(defs.muted()))
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return "case" if section == 0 else self.models[section - 1]
        return str(section + 1)

    def _case_text(self, row: MatrixRow) -> str:
        case = row.case
        sample = f" #{row.sample + 1}" if self.matrix is not None and self.matrix.repeat > 1 else ""
        head = f"{case.key}{sample} · {case.expect or 'no expect'}"
        tags = f"tags: {', '.join(case.tags)}" if case.tags else ""
        return "\n".join((head, _first_line(case.prompt) or "(attachments only)", tags))

    @staticmethod
    def _case_tooltip(row: MatrixRow) -> str:
        case = row.case
        parts = [f"case {case.key} · expect: {case.expect or '—'}", "", case.prompt[:1500]]
        if case.notes:
            parts += ["", f"notes for the rater: {case.notes[:600]}"]
        return "\n".join(parts)


class MatrixFilter(QSortFilterProxyModel):
    """Rows by expect kind, tag and rating state."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.expect = ANY
        self.tag = ANY
        self.rated = ANY

    def set_filters(self, expect: str = ANY, tag: str = ANY, rated: str = ANY) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.9+
            self.beginFilterChange()
            self.expect, self.tag, self.rated = expect, tag, rated
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.expect, self.tag, self.rated = expect, tag, rated
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        model = self.sourceModel()
        if not isinstance(model, MatrixModel) or source_row >= len(model.rows):
            return True
        row = model.rows[source_row]
        if self.expect != ANY and row.case.expect != ("" if self.expect == NO_EXPECT else self.expect):
            return False
        if self.tag != ANY and self.tag not in row.case.tags:
            return False
        if self.rated == RATED and not row.rated():
            return False
        return not (self.rated == UNRATED and row.rated())


class MatrixView(QTableView):
    """The matrix; Enter (like a click) opens the current cell's case."""

    open_requested = Signal(QModelIndex)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.open_requested.emit(self.currentIndex())
            return
        super().keyPressEvent(event)


class _RunSink:
    """Streams of a run, as far as the tab cares: an answer started (a cell goes 'streaming')."""

    def __init__(self, panel: SuitesPanel) -> None:
        self._panel = panel

    def response_started(self, result: ResponseResult) -> None:
        self._panel.mark_dirty()

    def text_received(self, result: ResponseResult, delta: str, parts: list[str]) -> None:
        pass

    def attempt_finished(self, result: Any, attempt: Any) -> None:
        pass

    def response_finished(self, result: ResponseResult) -> None:
        pass


# --- the tab --------------------------------------------------------------------------------------


class SuitesPanel(QWidget):
    """Suites on the left with the run form; runs and the open run's matrix on the right."""

    open_trial_requested = Signal(str)  # a matrix cell was clicked: open that case side by side
    run_finished = Signal(str)  # run id
    activity = Signal(str)  # what a running suite run is doing, for the status bar ("" when done)

    def __init__(self, engine: Engine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("suitesPanel")
        self.engine = engine
        self.rubric: Any = None  # the window's rubric, for the rating queue (None: the engine's)
        # Awaited before a run starts with the models it sends to (the window starts the
        # built-in model here); False stops the run before anything is stored.
        self.before_run: Callable[[Sequence[ModelRef]], Awaitable[bool]] | None = None
        self.suites: list[SuiteInfo] = []
        self.runs_info: list[SuiteRunInfo] = []
        self.current_run_id: str | None = None
        self.running_run_id: str | None = None
        self.queue: Any = None  # the open rating queue dialog
        self.scorecard: Any = None  # the open run scorecard dialog
        self.reloads = 0
        self._task: asyncio.Future[Any] | None = None
        self._busy = False
        self._progress: tuple[int, int] | None = None
        self._failed = 0  # answers of this run's call that failed
        self._dirty = False
        self._runs_dirty = False
        self._next_reload = 0.0
        self._refresh = QTimer(self)
        self._refresh.setInterval(REFRESH_MS)
        self._refresh.timeout.connect(self._tick)
        self._build()
        # Suites and runs are read when the tab is first shown (refresh_suites imports the
        # bundled starter suite into the store on first use: not at every window start).
        self.refresh_models()

    # --- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.suite_table = QTableWidget(0, 3)
        self.suite_table.setObjectName("suiteList")
        self.suite_table.setHorizontalHeaderLabels(["suite", "version", "cases"])
        self.suite_table.verticalHeader().setVisible(False)
        self.suite_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.suite_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.suite_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.suite_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.suite_table.itemSelectionChanged.connect(self._update_buttons)
        self.import_button = QPushButton("Import…")
        self.import_button.setObjectName("suiteImport")
        self.import_button.setToolTip("Read a CSV or JSONL file of cases: 'prompt' is required; id, system, "
                                      "expect, tags, attachments and notes are optional. A bad row is "
                                      "reported with its line number and nothing is imported.")
        self.import_button.clicked.connect(lambda: self.import_file())
        self.export_button = QPushButton("Export…")
        self.export_button.setObjectName("suiteExport")
        self.export_button.setToolTip("Write the selected suite to JSONL (one case per line)")
        self.export_button.clicked.connect(lambda: self.export_selected())
        suite_buttons = QHBoxLayout()
        suite_buttons.addWidget(self.import_button)
        suite_buttons.addWidget(self.export_button)
        suite_buttons.addStretch(1)

        self.models = QListWidget()
        self.models.setObjectName("suiteModels")
        self.models.setMinimumHeight(60)
        self.models.itemChanged.connect(lambda _item: self._update_buttons())
        self.repeat = QSpinBox()
        self.repeat.setObjectName("suiteRepeat")
        self.repeat.setRange(1, 100)
        self.repeat.setToolTip("Samples per case and model (answers vary: several show how much)")
        self.concurrency = QSpinBox()
        self.concurrency.setObjectName("suiteConcurrency")
        self.concurrency.setRange(1, 256)
        self.concurrency.setValue(4)
        self.concurrency.setToolTip("Requests in flight at once, across all models")
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Repeat", self.repeat)
        form.addRow("Concurrency", self.concurrency)

        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("suiteStart")
        self.start_button.setToolTip("Send every case of the selected suite to every ticked model")
        self.start_button.clicked.connect(lambda: self.start())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("suiteCancel")
        self.cancel_button.setToolTip("Stop the run: what arrived is kept; Resume sends only the rest")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        run_buttons = QHBoxLayout()
        run_buttons.addWidget(self.start_button, 1)
        run_buttons.addWidget(self.cancel_button)
        self.progress = QProgressBar()
        self.progress.setObjectName("suiteProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.progress_label = QLabel("No run yet.")
        self.progress_label.setObjectName("suiteProgressText")
        self.message = QLabel()
        self.message.setObjectName("suiteMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setVisible(False)

        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(defs.MARGIN, defs.MARGIN, defs.MARGIN, defs.MARGIN)
        lcol.addWidget(QLabel("<b>Suites</b>"))
        lcol.addWidget(self.suite_table, 2)
        lcol.addLayout(suite_buttons)
        lcol.addWidget(QLabel("<b>Run the selected suite on</b>"))
        lcol.addWidget(self.models, 1)
        lcol.addLayout(form)
        lcol.addLayout(run_buttons)
        lcol.addWidget(self.progress)
        lcol.addWidget(self.progress_label)
        lcol.addWidget(self.message)

        self.run_table = QTableWidget(0, 4)
        self.run_table.setObjectName("suiteRuns")
        self.run_table.setHorizontalHeaderLabels(["run", "suite", "status", "done"])
        self.run_table.verticalHeader().setVisible(False)
        self.run_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.run_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.run_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        rheader = self.run_table.horizontalHeader()
        for col in range(4):
            rheader.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        rheader.setStretchLastSection(True)
        self.run_table.itemSelectionChanged.connect(self._on_run_selected)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setObjectName("suiteResume")
        self.resume_button.setToolTip("Send only the cells of the selected run that have no answer yet "
                                      "(nothing already answered is sent, or billed, twice)")
        self.resume_button.clicked.connect(lambda: self.resume())
        self.rate_button = QPushButton("Rate this run…")
        self.rate_button.setObjectName("suiteRate")
        self.rate_button.setToolTip("Walk the cases one by one: every model's answer side by side, blind "
                                    "and shuffled, keyboard only")
        self.rate_button.clicked.connect(lambda: self.open_rating_queue())
        self.scorecard_button = QPushButton("Scorecard…")
        self.scorecard_button.setObjectName("suiteScorecard")
        self.scorecard_button.setToolTip("Per model and expected behaviour: how often the answers showed it; "
                                         "and two models compared on the same cases (sign test)")
        self.scorecard_button.clicked.connect(lambda: self.open_run_scorecard())
        run_row = QHBoxLayout()
        run_row.addWidget(QLabel("<b>Runs</b>"))
        run_row.addStretch(1)
        run_row.addWidget(self.resume_button)
        run_row.addWidget(self.rate_button)
        run_row.addWidget(self.scorecard_button)
        runs_box = QWidget()
        rcol = QVBoxLayout(runs_box)
        rcol.setContentsMargins(0, 0, 0, 0)
        rcol.addLayout(run_row)
        rcol.addWidget(self.run_table, 1)

        self.matrix_title = QLabel("Open a run to see its answers: cases down, models across.")
        self.matrix_title.setObjectName("suiteMatrixTitle")
        self.matrix_title.setWordWrap(True)
        self.expect_filter = QComboBox()
        self.expect_filter.setObjectName("suiteExpectFilter")
        self.expect_filter.addItem("any expect", ANY)
        for kind in EXPECT_KINDS:
            self.expect_filter.addItem(kind, kind)
        self.expect_filter.addItem("no expect", NO_EXPECT)
        self.tag_filter = QComboBox()
        self.tag_filter.setObjectName("suiteTagFilter")
        self.tag_filter.addItem("any tag", ANY)
        self.rated_filter = QComboBox()
        self.rated_filter.setObjectName("suiteRatedFilter")
        self.rated_filter.addItem("rated or not", ANY)
        self.rated_filter.addItem("rated", RATED)
        self.rated_filter.addItem("unrated", UNRATED)
        self.rated_filter.setToolTip("rated: every answer of the case has a rating; "
                                     "unrated: some answer of it has none yet")
        for combo in (self.expect_filter, self.tag_filter, self.rated_filter):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(6)  # a narrow window keeps its width; the list shows all
            combo.currentIndexChanged.connect(lambda _i: self.apply_filters())
        self.shown_label = QLabel()
        self.shown_label.setObjectName("suiteShown")
        filters = QHBoxLayout()
        filters.addWidget(QLabel("Show"))
        filters.addWidget(self.expect_filter)
        filters.addWidget(self.tag_filter)
        filters.addWidget(self.rated_filter)
        filters.addStretch(1)
        filters.addWidget(self.shown_label)

        self.matrix_model = MatrixModel(self)
        self.proxy = MatrixFilter(self)
        self.proxy.setSourceModel(self.matrix_model)
        self.matrix_view = MatrixView()
        self.matrix_view.setObjectName("suiteMatrix")
        self.matrix_view.setModel(self.proxy)
        self.matrix_view.setWordWrap(False)
        self.matrix_view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.matrix_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.matrix_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.matrix_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.matrix_view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.matrix_view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.matrix_view.verticalHeader().setVisible(False)
        line = self.matrix_view.fontMetrics().lineSpacing()
        self.matrix_view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.matrix_view.verticalHeader().setDefaultSectionSize(3 * line + 10)
        self.matrix_view.horizontalHeader().setDefaultSectionSize(280)
        self.matrix_view.horizontalHeader().setStretchLastSection(False)
        self.matrix_view.clicked.connect(self._open_index)
        self.matrix_view.open_requested.connect(self._open_index)
        matrix_box = QWidget()
        mcol = QVBoxLayout(matrix_box)
        mcol.setContentsMargins(0, 0, 0, 0)
        mcol.addWidget(self.matrix_title)
        mcol.addLayout(filters)
        mcol.addWidget(self.matrix_view, 1)

        self.right_split = QSplitter(Qt.Orientation.Vertical)
        self.right_split.addWidget(runs_box)
        self.right_split.addWidget(matrix_box)
        self.right_split.setStretchFactor(0, 1)
        self.right_split.setStretchFactor(1, 4)
        self.right_split.setSizes([150, 650])
        right = QWidget()
        rcol2 = QVBoxLayout(right)
        rcol2.setContentsMargins(defs.MARGIN, defs.MARGIN, defs.MARGIN, defs.MARGIN)
        rcol2.addWidget(self.right_split)

        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(left)
        self.split.addWidget(right)
        self.split.setStretchFactor(0, 1)
        self.split.setStretchFactor(1, 4)
        self.split.setSizes([320, 1080])
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.split)
        self._update_buttons()

    # --- messages -------------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        # One reason per line: "f.csv: 2 bad rows, nothing imported: line 3: ...; line 7: ..."
        text = re.sub(r";\s+(?=line \d+:)", "\n", text)
        text = re.sub(r"nothing imported: (?=line \d+:)", "nothing imported:\n", text)
        self.message.setStyleSheet(f"color: {defs.error_text()};")
        self.message.setText(text)
        self.message.setVisible(True)

    def show_info(self, text: str) -> None:
        self.message.setStyleSheet("")
        self.message.setText(text)
        self.message.setVisible(True)

    def clear_message(self) -> None:
        self.message.clear()
        self.message.setVisible(False)

    # --- suites ---------------------------------------------------------------------------
    def refresh_suites(self, select: str | None = None) -> None:
        keep = select or self.selected_suite_name()
        try:
            self.suites = self.engine.list_suites()
        except EngineError as exc:
            self.show_error(str(exc))
            self.suites = []
        self.suite_table.setRowCount(len(self.suites))
        for row, info in enumerate(self.suites):
            name = QTableWidgetItem(f"{info.name} (built-in)" if info.builtin else info.name)
            name.setData(TRIAL_ROLE, info.name)
            name.setToolTip(info.source or info.name)
            self.suite_table.setItem(row, 0, name)
            version = QTableWidgetItem(f"v{info.version}")
            self.suite_table.setItem(row, 1, version)
            cases = QTableWidgetItem(str(info.cases))
            cases.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.suite_table.setItem(row, 2, cases)
        if keep:
            self.select_suite(keep)
        elif self.suites and not self.suite_table.selectedItems():
            self.suite_table.selectRow(0)
        self._update_buttons()

    def suite_names(self) -> list[str]:
        return [s.name for s in self.suites]

    def selected_suite(self) -> SuiteInfo | None:
        rows = self.suite_table.selectionModel().selectedRows() if self.suite_table.selectionModel() else []
        if not rows:
            return None
        row = rows[0].row()
        return self.suites[row] if 0 <= row < len(self.suites) else None

    def selected_suite_name(self) -> str | None:
        info = self.selected_suite()
        return info.name if info is not None else None

    def select_suite(self, name: str) -> bool:
        for row, info in enumerate(self.suites):
            if info.name == name:
                self.suite_table.selectRow(row)
                return True
        return False

    def import_file(self, path: str | Path | None = None, name: str | None = None) -> asyncio.Future[bool] | None:
        """Import a CSV or JSONL suite (asking for the file and name when not given), the file
        and its attachments read off the GUI thread; returns the task (None if cancelled)."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Import a suite", "",
                                                  "Suites (*.csv *.tsv *.jsonl *.ndjson *.json);;All files (*)")
            if not path:
                return None
        if name is None:
            name, ok = QInputDialog.getText(self, "Suite name",
                                            "Name of the suite (a name used before gets its next version):",
                                            text=Path(path).stem)
            if not ok:
                return None
        return asyncio.ensure_future(self._import(path, name, ()))

    async def _import(self, path: str | Path, name: str, allow_outside: Sequence[str]) -> bool:
        self.import_button.setEnabled(False)
        self.show_info(f"Reading {Path(path).name}…")
        try:
            info = await self.engine.import_suite_in_background(path, name, allow_outside=allow_outside)
        except EngineError as exc:
            self.show_error(str(exc))
            # Attachments outside the suite's folder are imported only if the user says so.
            outside = exc.outside
            if outside and not allow_outside and await self._ask(lambda: self._allow_outside(outside)):
                return await self._import(path, name, outside)
            return False
        finally:
            self.import_button.setEnabled(True)
        self.refresh_suites(select=info.name)
        self.show_info(f"Imported {info.cases} case{'s' if info.cases != 1 else ''} as "
                       f"{info.name} v{info.version}.")
        return True

    @staticmethod
    async def _ask(question: Callable[[], bool]) -> bool:
        """A modal question asked from a plain Qt callback: its nested event loop must not run
        inside a task's step (other tasks would step within this one)."""
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def ask() -> None:
            if not answer.done():
                answer.set_result(question())

        QTimer.singleShot(0, ask)
        return await answer

    def _allow_outside(self, paths: Sequence[str]) -> bool:
        """Ask whether these files from outside the suite's folder may be imported (default: no)."""
        shown = "\n".join(paths[:10]) + (f"\n… and {len(paths) - 10} more" if len(paths) > 10 else "")
        answer = QMessageBox.question(
            self, "Files outside the suite's folder",
            "The suite attaches files from outside its own folder; a suite someone sent you could "
            f"reach any file you can read this way:\n\n{shown}\n\nImport them with the suite?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def export_selected(self, path: str | Path | None = None) -> asyncio.Future[bool] | None:
        """Export the selected suite to JSONL (attachments beside it), the writing off the
        GUI thread; returns the task (None when nothing was started)."""
        info = self.selected_suite()
        if info is None:
            self.show_error("Select a suite to export first.")
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export the suite", f"{info.name}.jsonl",
                                                  "JSON Lines (*.jsonl)")
            if not path:
                return None
        target = str(path)
        self.export_button.setEnabled(False)
        self.show_info(f"Exporting {info.name} v{info.version}…")

        async def go() -> bool:
            try:
                n = await self.engine.export_suite_in_background(info.name, target, info.version)
            except EngineError as exc:
                self.show_error(str(exc))
                return False
            finally:
                self.export_button.setEnabled(True)
            self.show_info(f"Exported {n} cases of {info.name} v{info.version} to {target}.")
            return True

        return asyncio.ensure_future(go())

    # --- models ---------------------------------------------------------------------------
    def refresh_models(self) -> None:
        """Offer the configured models again, keeping what was ticked."""
        checked = set(self.selected_names())
        self.models.blockSignals(True)
        self.models.clear()
        for ref in self.engine.configured_models():
            item = QListWidgetItem(str(ref))
            item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            item.setCheckState(Qt.CheckState.Checked if str(ref) in checked else Qt.CheckState.Unchecked)
            self.models.addItem(item)
        self.models.blockSignals(False)
        self._update_buttons()

    def selected_names(self) -> list[str]:
        return [self.models.item(i).text() for i in range(self.models.count())
                if self.models.item(i).checkState() == Qt.CheckState.Checked]

    def set_checked(self, names: Iterable[str]) -> None:
        wanted = set(names)
        self.models.blockSignals(True)
        for i in range(self.models.count()):
            item = self.models.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in wanted else Qt.CheckState.Unchecked)
        self.models.blockSignals(False)
        self._update_buttons()

    # --- running --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """A run (or its start) is under way: from Start until the task's last step."""
        return self._busy

    def start(self) -> bool:
        """Start a run of the selected suite on the ticked models."""
        if self.running:
            return False
        info = self.selected_suite()
        if info is None:
            self.show_error("Select a suite to run first.")
            return False
        try:
            models = [ModelRef.parse(n) for n in self.selected_names()]
        except ValueError as exc:
            self.show_error(str(exc))
            return False
        if not models:
            self.show_error("Tick at least one model to run the suite on.")
            return False
        repeat, concurrency = self.repeat.value(), self.concurrency.value()
        total = info.cases * repeat * len(models)

        def go(**callbacks: Any) -> Awaitable[Any]:
            return self.engine.run_suite(info.name, models, version=info.version, repeat=repeat,
                                         concurrency=concurrency, **callbacks)

        self._begin(go, models, f"Starting {info.name}: {total} answers to get…", total)
        return True

    def resume(self, run_id: str | None = None) -> bool:
        """Send the cells of a run that have no answer yet."""
        if self.running:
            return False
        run_id = run_id or self.selected_run_id()
        info = next((r for r in self.runs_info if r.run_id == run_id), None) if run_id else None
        if run_id is None or info is None:
            self.show_error("Select an interrupted run to resume.")
            return False
        try:
            models = [ModelRef.parse(m) for m in info.models]
        except ValueError:
            models = []

        def go(**callbacks: Any) -> Awaitable[Any]:
            return self.engine.resume_suite_run(run_id, **callbacks)

        self._begin(go, models, f"Resuming {run_id}: {info.total - info.done} answers to get…", info.total)
        return True

    def cancel(self) -> None:
        if self.running and self._task is not None:
            self._task.cancel()

    def _begin(self, go: Callable[..., Awaitable[Any]], models: Sequence[ModelRef], text: str, total: int) -> None:
        self.clear_message()
        self._progress = None
        self._failed = 0
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(0)
        self.progress_label.setText(text)
        self._task = asyncio.ensure_future(self._run(go, models))
        self._set_running(True)

    async def _run(self, go: Callable[..., Awaitable[Any]], models: Sequence[ModelRef]) -> None:
        try:
            if self.before_run is not None and not await self.before_run(models):
                self.progress_label.setText("Not started.")
                return
            result = await go(progress=self._on_progress, on_response=self._on_response,
                              on_start=self._on_start, sink=_RunSink(self))
        except EngineError as exc:
            self.show_error(str(exc))
            self.progress_label.setText("Not started.")
            return
        except asyncio.CancelledError as exc:
            done = getattr(exc, "result", None)
            kept = f" {done.ok} new answers were stored." if done is not None else ""
            self.show_info(f"Cancelled.{kept} Resume sends only the cases that have no answer yet.")
            return
        except Exception as exc:  # a bug must be said in the window, not end the task silently
            log.exception("suite run failed")
            self.show_error(f"The run stopped: {exc}")
            return
        finally:
            self._set_running(False)
            self._finish()
        failed = f"; {result.failed} failed (Resume sends them again)" if result.failed else ""
        held = "".join(f" {model} failed with {why}: its other cases were not sent; fix the model name or "
                       "key, then Resume." for model, why in result.held_back.items())
        if result.not_stored:  # answered but not saved: lost, and the run stopped sending
            held += (f" {len(result.not_stored)} answer(s) could not be stored and are lost "
                     f"({result.not_stored[0]}); no more cases were sent. Fix the store, then Resume.")
        if held:
            self.show_error(f"Run {result.run_id}: {result.ok} answers{failed}.{held}")
        else:
            self.show_info(f"Run {result.run_id} done: {result.ok} answers{failed}.")
        self.run_finished.emit(result.run_id)

    def _set_running(self, running: bool) -> None:
        self._busy = running
        if running:
            self._refresh.start()
        else:
            self._refresh.stop()
        self._update_buttons()

    def _finish(self) -> None:
        self._apply_progress()
        run_id = self.running_run_id
        self.running_run_id = None
        self.activity.emit("")
        self.refresh_runs(select=run_id or self.current_run_id)
        if run_id is not None and run_id == self.current_run_id:
            self.reload_matrix()

    # --- engine callbacks (GUI thread, on the loop): only note what changed ------------------
    def _on_start(self, run_id: str) -> None:
        self.running_run_id = run_id
        self.refresh_runs(select=run_id)
        self.open_run(run_id)

    def _on_progress(self, done: int, total: int) -> None:
        self._progress = (done, total)

    def _on_response(self, item: Any) -> None:
        if getattr(item.response.status, "value", item.response.status) != "ok":
            self._failed += 1
        self._dirty = True

    def mark_dirty(self) -> None:
        self._dirty = True

    def _tick(self) -> None:
        """A few times a second while running: progress, the run's row, and the matrix."""
        self._apply_progress()
        if self._dirty and self.running_run_id is not None and self.running_run_id == self.current_run_id:
            now = time.monotonic()
            if now >= self._next_reload:
                self._dirty = False
                self.reload_matrix()
                took = time.monotonic() - now
                self._next_reload = now + took / RELOAD_BUDGET  # a slow read waits longer before the next

    def _apply_progress(self) -> None:
        if self._progress is None:
            return
        done, total = self._progress
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        failed = f" · {self._failed} failed" if self._failed else ""
        self.progress_label.setText(f"{done} / {total} done{failed}")
        if self.running_run_id is not None:
            self.activity.emit(f"Suite run: {done} / {total} answers{failed}")
        row = self._run_row(self.running_run_id)
        if row is not None:
            self.run_table.item(row, 3).setText(f"{done} / {total}")

    # --- runs -----------------------------------------------------------------------------
    def refresh_runs(self, select: str | None = None) -> None:
        keep = select or self.selected_run_id()
        self.runs_info = self.engine.list_suite_runs()
        self.run_table.blockSignals(True)
        self.run_table.setRowCount(len(self.runs_info))
        for row, info in enumerate(self.runs_info):
            rid = QTableWidgetItem(info.run_id)
            rid.setData(TRIAL_ROLE, info.run_id)
            rid.setToolTip(f"{info.run_id}\nmodels: {', '.join(info.models)}\nrepeat {info.repeat}, "
                           f"concurrency {info.concurrency}" + (f"\n{info.failed} failed" if info.failed else ""))
            self.run_table.setItem(row, 0, rid)
            version = f" v{info.suite_version}" if info.suite_version is not None else ""
            self.run_table.setItem(row, 1, QTableWidgetItem(f"{info.suite}{version}"))
            self.run_table.setItem(row, 2, QTableWidgetItem(info.status))
            self.run_table.setItem(row, 3, QTableWidgetItem(f"{info.done} / {info.total}"))
        self.run_table.blockSignals(False)
        if keep:
            row = self._run_row(keep)
            if row is not None:
                self.run_table.blockSignals(True)
                self.run_table.selectRow(row)
                self.run_table.blockSignals(False)
        self._update_buttons()

    def run_ids(self) -> list[str]:
        return [r.run_id for r in self.runs_info]

    def run_info(self, run_id: str) -> SuiteRunInfo | None:
        return next((r for r in self.runs_info if r.run_id == run_id), None)

    def _run_row(self, run_id: str | None) -> int | None:
        if run_id is None:
            return None
        for row in range(self.run_table.rowCount()):
            item = self.run_table.item(row, 0)
            if item is not None and item.data(TRIAL_ROLE) == run_id:
                return row
        return None

    def selected_run_id(self) -> str | None:
        model = self.run_table.selectionModel()
        rows = model.selectedRows() if model is not None else []
        if not rows:
            return None
        item = self.run_table.item(rows[0].row(), 0)
        return item.data(TRIAL_ROLE) if item is not None else None

    def select_run(self, run_id: str) -> bool:
        row = self._run_row(run_id)
        if row is None:
            return False
        self.run_table.selectRow(row)  # opens it (selection changed)
        if self.current_run_id != run_id:
            self.open_run(run_id)
        return True

    def _on_run_selected(self) -> None:
        run_id = self.selected_run_id()
        if run_id is not None and run_id != self.current_run_id:
            self.open_run(run_id)
        self._update_buttons()

    def open_run(self, run_id: str) -> bool:
        """Show a run's matrix."""
        self.current_run_id = run_id
        ok = self.reload_matrix()
        self._update_buttons()
        return ok

    def reload_matrix(self) -> bool:
        if self.current_run_id is None:
            self.matrix_model.set_matrix(None)
            return False
        try:
            matrix = self.engine.suite_matrix(self.current_run_id)
        except EngineError as exc:
            self.show_error(str(exc))
            return False
        self.reloads += 1
        fresh = self.matrix_model.matrix is None or self.matrix_model.matrix.run.run_id != matrix.run.run_id
        self.matrix_model.set_matrix(matrix)
        if fresh:
            self._fill_tags(matrix)
            header = self.matrix_view.horizontalHeader()
            header.resizeSection(0, 240)
            for col in range(1, 1 + len(matrix.models)):
                header.resizeSection(col, 300)
        self._show_title(matrix)
        self._show_counts()
        return True

    def _show_title(self, matrix: SuiteMatrix) -> None:
        run = matrix.run
        if run.run_id == self.running_run_id and self._progress is not None:
            done, total = self._progress
            state = "running"
        else:
            done, total, state = run.done, run.total, run.status
        repeat = f" × {run.repeat} samples" if run.repeat > 1 else ""
        failed = f" · {run.failed} failed" if run.failed else ""
        self.matrix_title.setText(
            f"<b>{run.suite} v{run.suite_version}</b> · run {run.run_id} · {len(matrix.suite.cases)} cases{repeat} "
            f"× {len(matrix.models)} models · {state} · {done} / {total} done{failed}")

    def _fill_tags(self, matrix: SuiteMatrix) -> None:
        current = self.tag_filter.currentData()
        tags = sorted({t for c in matrix.suite.cases for t in c.tags})
        self.tag_filter.blockSignals(True)
        self.tag_filter.clear()
        self.tag_filter.addItem("any tag", ANY)
        for tag in tags:
            self.tag_filter.addItem(tag, tag)
        index = self.tag_filter.findData(current)
        self.tag_filter.setCurrentIndex(max(index, 0))
        self.tag_filter.blockSignals(False)
        self.apply_filters()

    def apply_filters(self) -> None:
        self.proxy.set_filters(self.expect_filter.currentData() or ANY, self.tag_filter.currentData() or ANY,
                               self.rated_filter.currentData() or ANY)
        self._show_counts()

    def set_filters(self, expect: str = ANY, tag: str = ANY, rated: str = ANY) -> None:
        """Choose the filters (ANY: no filter; NO_EXPECT: cases without an expect)."""
        for combo, value in ((self.expect_filter, expect), (self.tag_filter, tag), (self.rated_filter, rated)):
            combo.blockSignals(True)
            combo.setCurrentIndex(max(combo.findData(value), 0))
            combo.blockSignals(False)
        self.apply_filters()

    def _show_counts(self) -> None:
        total = self.matrix_model.rowCount()
        shown = self.proxy.rowCount()
        self.shown_label.setText(f"{shown} of {total} cases" if shown != total else f"{total} cases")

    def visible_cases(self) -> list[str]:
        """The case keys the matrix shows now, top to bottom (after the filters)."""
        out = []
        for r in range(self.proxy.rowCount()):
            source = self.proxy.mapToSource(self.proxy.index(r, 0))
            out.append(self.matrix_model.rows[source.row()].case.key)
        return out

    def cell_index(self, case_key: str, model: str, sample: int = 0) -> QModelIndex:
        """The view's index of a cell (invalid if filtered out)."""
        if model not in self.matrix_model.models:
            return QModelIndex()
        col = 1 + self.matrix_model.models.index(model)
        for r, row in enumerate(self.matrix_model.rows):
            if row.case.key == case_key and row.sample == sample:
                return self.proxy.mapFromSource(self.matrix_model.index(r, col))
        return QModelIndex()

    def _open_index(self, index: QModelIndex) -> None:
        trial_id = index.data(TRIAL_ROLE) if index.isValid() else None
        if not trial_id:
            source = self.proxy.mapToSource(index) if index.isValid() else QModelIndex()
            if source.isValid():
                trial_id = self.matrix_model.rows[source.row()].trial_id
        if trial_id:
            self.open_trial_requested.emit(trial_id)
        else:
            self.show_info("That case has no answer yet.")

    # --- rating ---------------------------------------------------------------------------
    def open_rating_queue(self, run_id: str | None = None, rater: str | None = None) -> Any:
        """Open the rating queue of a run (the selected one by default)."""
        from desk.ui.rating_queue import RatingQueue

        run_id = run_id or self.selected_run_id() or self.current_run_id
        if run_id is None:
            self.show_error("Select a run to rate.")
            return None
        rater = rater or self.engine.rater_name()
        if not rater:
            name, ok = QInputDialog.getText(self, "Your name as a rater",
                                            "Your name is stored with every rating you make:")
            if not ok or not name.strip():
                return None
            try:
                self.engine.set_rater_name(name)
            except EngineError as exc:
                self.show_error(str(exc))
                return None
            rater = self.engine.rater_name()
        if self.queue is not None:
            self.queue.close()
            self.queue.deleteLater()
            self.queue = None
        try:
            queue = RatingQueue(self.engine, run_id, rater or "", rubric=self.rubric, parent=self)
        except EngineError as exc:
            self.show_error(str(exc))
            return None
        queue.rating_saved.connect(lambda _r: self._rated(run_id))
        self.queue = queue
        queue.show()
        queue.raise_()
        queue.activateWindow()
        queue.focus_current()
        return queue

    def open_run_scorecard(self, run_id: str | None = None) -> Any:
        """Open the scorecard of a run (the selected one by default), beside the window."""
        from desk.ui.run_scorecard import RunScorecardDialog

        run_id = run_id or self.selected_run_id() or self.current_run_id
        if run_id is None:
            self.show_error("Select a run to see its scorecard.")
            return None
        if self.scorecard is not None:
            self.scorecard.close()
            self.scorecard.deleteLater()
            self.scorecard = None
        try:
            dialog = RunScorecardDialog(self.engine, run_id, parent=self)
        except EngineError as exc:
            self.show_error(str(exc))
            return None
        self.scorecard = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def _rated(self, run_id: str) -> None:
        if run_id == self.current_run_id and not self.running:
            self._dirty = True
            QTimer.singleShot(REFRESH_MS, self._reload_if_dirty)

    def _reload_if_dirty(self) -> None:
        if self._dirty and not self.running:
            self._dirty = False
            self.reload_matrix()

    # --- state ----------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        running = self.running
        self.start_button.setEnabled(not running and self.selected_suite() is not None and bool(self.selected_names()))
        self.cancel_button.setEnabled(running)
        self.import_button.setEnabled(True)
        self.export_button.setEnabled(self.selected_suite() is not None)
        info = self.run_info(self.selected_run_id() or "")
        resumable = info is not None and info.status != "running" and info.done < info.total
        self.resume_button.setEnabled(not running and resumable)
        self.rate_button.setEnabled(info is not None and info.done > 0)
        self.scorecard_button.setEnabled(info is not None)

    def shutdown(self) -> None:
        self.cancel()
        if self.queue is not None:
            self.queue.close()
        if self.scorecard is not None:
            self.scorecard.close()
