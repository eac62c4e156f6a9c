"""A suite run's tool use per model, in its scorecard: called when it should (and not when
it should not), valid arguments, schema-valid arguments, expected call matched, each a rate
with its 95% Wilson interval and n; below, every answer that failed a measure, which opens
side by side with the case's other answers when clicked.

It shows what engine.suites.tool_use reads (the rules are desk.core.tool_expect's), read by
the scorecard with the rest of the run (desk.engine.run_scoring.RunReading)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desk.core.tool_expect import MEASURES
from desk.engine.tool_use import ToolUseScore
from desk.ui import defs

# measure -> its column's header (MEASURES says what each counts, in the header's tooltip)
HEADERS = {"called_right": "Called when it should", "valid_arguments": "Valid arguments",
           "schema_valid": "Schema-valid", "expected_matched": "Expected call"}
TRIAL_ROLE = Qt.ItemDataRole.UserRole


def tool_rate_text(passed: int, n: int, low: float | None, high: float | None) -> str:
    """"8/10 80% [49–94%]"; "– · n=0" when no answer applies."""
    if not n:
        return "– · n=0"
    interval = f" [{low * 100:.0f}–{high * 100:.0f}%]" if low is not None and high is not None else ""
    return f"{passed}/{n} {passed / n * 100:.0f}%{interval}"


class ToolUseBox(QGroupBox):
    """Shown for a run whose suite has tool cases answered; `answer_opened(trial_id)` when a
    failure is clicked."""

    answer_opened = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Tool use (answers to the cases that offer tools)", parent)
        self.setObjectName("runToolUse")
        col = QVBoxLayout(self)
        self.table = QTableWidget(0, 0)
        self.table.setObjectName("toolUseTable")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.verticalHeader().setVisible(False)
        col.addWidget(self.table)
        self.failures = QListWidget()
        self.failures.setObjectName("toolUseFailures")
        self.failures.setToolTip("Click an answer to open its case, every model's answer side by side")
        self.failures.itemActivated.connect(self._open)
        self.failures.itemClicked.connect(self._open)
        col.addWidget(self.failures)
        note = QLabel("In brackets the 95% Wilson interval; n = answers the measure applies to (an answer "
                      "that failed as a request is not judged). Click a failure to open it.")
        note.setWordWrap(True)
        note.setStyleSheet(f"color: {defs.muted()};")
        col.addWidget(note)
        self.setVisible(False)  # until refresh finds answers to tool cases

    def show_scores(self, scores: list[ToolUseScore]) -> None:
        self.setVisible(any(s.answers for s in scores))
        headers = ["Model", "Answers", *(HEADERS[m] for m in MEASURES)]
        self.table.clear()
        self.table.setColumnCount(len(headers))
        for column, header in enumerate(headers):
            head = QTableWidgetItem(header)
            head.setToolTip(MEASURES.get(list(MEASURES)[column - 2], "") if column >= 2 else "")
            self.table.setHorizontalHeaderItem(column, head)
        self.table.setRowCount(len(scores))
        self.failures.clear()
        for row, score in enumerate(scores):
            cells = [score.model, str(score.answers)]
            cells += [tool_rate_text(r.passed, r.n, r.low, r.high) for r in score.rates.values()]
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if column >= 1:
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(row, column, cell)
            for measure, rate in score.rates.items():
                for rid in rate.failed:
                    place = score.places.get(rid)
                    where = f"case {place.case_key}" if place else "case ?"
                    item = QListWidgetItem(f"{score.model} · {HEADERS[measure].lower()}: failed · {where} "
                                           f"· answer {rid}")
                    item.setData(TRIAL_ROLE, place.trial_id if place else None)
                    self.failures.addItem(item)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMaximumHeight(self.table.horizontalHeader().height() + 4 + sum(
            self.table.rowHeight(r) for r in range(self.table.rowCount())) + 2 * self.table.frameWidth())
        count = self.failures.count()
        self.failures.setVisible(count > 0)
        if count:  # as tall as its lines, up to a handful; more scroll
            rows = min(count, 6) * max(self.failures.sizeHintForRow(0), 1)
            self.failures.setMaximumHeight(rows + 2 * self.failures.frameWidth() + 4)

    def cell_text(self, model: str, measure: str) -> str:
        """The text of a model's rate for a measure ("8/10 80% [49–94%]")."""
        column = 2 + list(MEASURES).index(measure)
        texts = [[(item.text() if (item := self.table.item(r, c)) else "") for c in range(self.table.columnCount())]
                 for r in range(self.table.rowCount())]
        return next(row[column] for row in texts if row[0] == model)

    def _open(self, item: QListWidgetItem) -> None:
        trial_id = item.data(TRIAL_ROLE)
        if trial_id:
            self.answer_opened.emit(trial_id)
