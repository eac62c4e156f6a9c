"""The Suites tab's matrix of a run: cases down, models across, each cell's status, first
line and rating. A QAbstractTableModel behind a QTableView: one model for thousands of
cells, no widget per cell; a run's rows and the filters' rule are desk.engine.suites_tab's.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QWidget

from desk.core.first_line import first_line
from desk.core.suite import EXPECT_KINDS
from desk.engine.session import SuiteMatrix
from desk.engine.suite_records import MatrixCell
from desk.engine.suites_tab import (
    ANY,
    NO_EXPECT,
    RATED,
    UNRATED,
    MatrixRow,
    extra_turn_text,
    matrix_rows,
    matrix_tags,
    row_shown,
    shown_text,
)
from desk.ui import defs, layout
from desk.ui.response_pane import fmt_cost, fmt_ms

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
        turn = f"turn {cell.turn} · " if cell.turn > 1 else ""
        return f"ok · {turn}TTFT {fmt_ms(cell.ttft_ms)} · {fmt_ms(cell.total_ms)} · {cost}"
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
    if cell.turn > 1:
        lines.append(f"turn {cell.turn}: answered after the case's clarification (its outcome counts)")
    if cell.answers > cell.turn:
        lines.append(f"{cell.answers} answers stored for this cell (the latest ok one counts)")
    lines.append("Click or press Enter: open this case side by side in Trials.")
    return "\n".join(lines)


# --- the matrix model -------------------------------------------------------------------------


class MatrixModel(QAbstractTableModel):
    """Rows: the cases (x samples) of a run; column 0 the case, then one column per model."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.matrix: SuiteMatrix | None = None
        self.models: tuple[str, ...] = ()
        self.rows: list[MatrixRow] = []
        self.updates = 0  # cells changed in place (for tests and the curious)

    # --- filling --------------------------------------------------------------------------
    def set_matrix(self, matrix: SuiteMatrix | None, rows: list[MatrixRow] | None = None) -> None:
        """Show a run (its `rows` when made already: matrix_rows); the same run again
        updates only the cells that changed."""
        if rows is None:
            rows = matrix_rows(matrix) if matrix is not None else []
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
        return "\n".join((head, first_line(case.prompt, 160) or "(attachments only)", tags))

    @staticmethod
    def _case_tooltip(row: MatrixRow) -> str:
        case = row.case
        parts = [f"case {case.key} · expect: {case.expect or '—'}", "", case.prompt[:1500]]
        if case.notes:
            parts += ["", f"notes for the rater: {case.notes[:600]}"]
        return "\n".join(parts)


class MatrixFilter(QSortFilterProxyModel):
    """Rows by expect kind, tag and rating state."""

    def __init__(self, matrix: MatrixModel, parent: Any = None) -> None:
        super().__init__(parent)
        self.matrix = matrix
        self.setSourceModel(matrix)
        self.expect = ANY
        self.tag = ANY
        self.rated = ANY

    def case_keys(self) -> list[str]:
        """The case keys shown now, top to bottom (after the filters)."""
        return [self.matrix.rows[self.mapToSource(self.index(r, 0)).row()].case.key for r in range(self.rowCount())]

    def cell_index(self, case_key: str, model: str, sample: int = 0) -> QModelIndex:
        """The index of a cell (invalid if filtered out)."""
        if model not in self.matrix.models:
            return QModelIndex()
        col = 1 + self.matrix.models.index(model)
        for r, row in enumerate(self.matrix.rows):
            if row.case.key == case_key and row.sample == sample:
                return self.mapFromSource(self.matrix.index(r, col))
        return QModelIndex()

    def trial_at(self, index: QModelIndex) -> str | None:
        """The trial of the case at `index` (a cell's own, else its row's first)."""
        trial_id: str | None = index.data(TRIAL_ROLE) if index.isValid() else None
        source = self.mapToSource(index) if index.isValid() else QModelIndex()
        if not trial_id and source.isValid():
            trial_id = self.matrix.rows[source.row()].trial_id
        return trial_id or None

    def set_filters(self, expect: str = ANY, tag: str = ANY, rated: str = ANY) -> None:
        if (expect, tag, rated) == (self.expect, self.tag, self.rated):
            return  # a pass over every row (100,000 answers: 16,667 of them) would change nothing
        if hasattr(self, "beginFilterChange"):  # Qt 6.9+
            self.beginFilterChange()
            self.expect, self.tag, self.rated = expect, tag, rated
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.expect, self.tag, self.rated = expect, tag, rated
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        if self.expect == ANY and self.tag == ANY and self.rated == ANY:
            return True  # no filter: called for every row of a run opened
        model = self.sourceModel()
        if not isinstance(model, MatrixModel) or source_row >= len(model.rows):
            return True
        return row_shown(model.rows[source_row], self.expect, self.tag, self.rated)


class MatrixView(QTableView):
    """The matrix; Enter (like a click) opens the current cell's case."""

    open_requested = Signal(QModelIndex)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        rows = self.verticalHeader()
        rows.setVisible(False)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(3 * self.fontMetrics().lineSpacing() + 10)  # status, first line, rating
        self.horizontalHeader().setDefaultSectionSize(280)
        self.horizontalHeader().setStretchLastSection(False)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.open_requested.emit(self.currentIndex())
            return
        super().keyPressEvent(event)


class MatrixFilterBar(QWidget):
    """"Show": the expect, tag and rating-state filters of a matrix, and how many cases pass."""

    def __init__(self, proxy: MatrixFilter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.proxy = proxy
        self.expect_filter = layout.combo("suiteExpectFilter", [("any expect", ANY), *((k, k) for k in EXPECT_KINDS),
                                                                ("no expect", NO_EXPECT)])
        self.tag_filter = layout.combo("suiteTagFilter", [("any tag", ANY)])
        self.rated_filter = layout.combo("suiteRatedFilter", [("rated or not", ANY), ("rated", RATED),
                                                              ("unrated", UNRATED)])
        self.rated_filter.setToolTip("rated: every answer of the case has a rating; "
                                     "unrated: some answer of it has none yet")
        for combo in (self.expect_filter, self.tag_filter, self.rated_filter):
            combo.currentIndexChanged.connect(lambda _i: self.apply())
        self.shown_label = QLabel()
        self.shown_label.setObjectName("suiteShown")
        row = layout.row(QLabel("Show"), self.expect_filter, self.tag_filter, self.rated_filter, None,
                         self.shown_label)
        row.setContentsMargins(0, 0, 0, 0)
        self.setLayout(row)

    def fill_tags(self, matrix: SuiteMatrix) -> None:
        """Offer the tags of a newly opened run's cases, keeping the chosen one if it has it."""
        current = self.tag_filter.currentData()
        self.tag_filter.blockSignals(True)
        self.tag_filter.clear()
        self.tag_filter.addItem("any tag", ANY)
        for tag in matrix_tags(matrix):
            self.tag_filter.addItem(tag, tag)
        index = self.tag_filter.findData(current)
        self.tag_filter.setCurrentIndex(max(index, 0))
        self.tag_filter.blockSignals(False)
        self.apply()

    def apply(self) -> None:
        self.proxy.set_filters(self.expect_filter.currentData() or ANY, self.tag_filter.currentData() or ANY,
                               self.rated_filter.currentData() or ANY)
        self.show_counts()

    def set_filters(self, expect: str = ANY, tag: str = ANY, rated: str = ANY) -> None:
        """Choose the filters (ANY: no filter; NO_EXPECT: cases without an expect)."""
        for combo, value in ((self.expect_filter, expect), (self.tag_filter, tag), (self.rated_filter, rated)):
            combo.blockSignals(True)
            combo.setCurrentIndex(max(combo.findData(value), 0))
            combo.blockSignals(False)
        self.apply()

    def show_counts(self) -> None:
        self.shown_label.setText(shown_text(self.proxy.rowCount(), self.proxy.matrix.rowCount())
                                 + extra_turn_text(self.proxy.matrix.matrix))
