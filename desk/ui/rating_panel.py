"""Rating under each pane, keyboard first: digits choose, arrows move, Enter saves.

Rows follow the rubric: outcome, uncertainty handling, hard constraints, quality, then a
note and tags. Digits pick the option numbered in the current row and move on to the next
row; Up/Down move between rows; Enter saves (even from the note field); Tab and
Shift+Tab go to the next or previous pane's rating.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desk.core.rating import Rating
from desk.core.rubric import Criterion, Rubric
from desk.ui import defs

_SHORT = {  # compact labels for the narrow pane; the full label is the tooltip
    "asked_clarifying": "asked (needed)",
    "stated_uncertainty": "stated limits",
    "confident_correct": "confident, right",
    "partial_with_caveats": "partial + caveats",
    "confident_wrong": "confident, wrong",
    "needless_refusal": "needless refusal",
    "needless_question": "needless question",
}


class _ChoiceRow(QWidget):
    """One criterion: numbered toggle buttons, at most one checked."""

    chosen = Signal()

    def __init__(self, criterion: Criterion, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.criterion = criterion
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(2)
        grid.setVerticalSpacing(2)
        if criterion.kind == "scale":
            options = [(str(v), str(v), "") for v in range(criterion.low, criterion.high + 1)]
        else:
            options = [(o.key, _SHORT.get(o.key, o.label), o.hint or o.label) for o in criterion.options]
        # Long option lists wrap in two columns so every label stays readable in a narrow pane.
        per_row = 5 if criterion.kind == "scale" else (2 if len(options) > 4 else len(options))
        self.keys: list[str] = []
        for i, (key, label, tip) in enumerate(options):
            button = QToolButton()
            button.setCheckable(True)
            button.setText(label if criterion.kind == "scale" else f"{i + 1} {label}")
            button.setToolTip(f"{i + 1}: {tip or label}")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the panel owns the keyboard
            button.setObjectName(f"{criterion.key}:{key}")
            button.clicked.connect(self.chosen)
            self.group.addButton(button, i)
            grid.addWidget(button, i // per_row, i % per_row)
            self.keys.append(key)

    def choose(self, index: int) -> bool:
        if 0 <= index < len(self.keys):
            self.group.button(index).setChecked(True)
            return True
        return False

    def value(self) -> Any:
        index = self.group.checkedId()
        if index < 0:
            return None
        key = self.keys[index]
        return int(key) if self.criterion.kind == "scale" else key

    def set_value(self, value: Any) -> None:
        key = str(value) if value is not None else None
        if key in self.keys:
            self.group.button(self.keys.index(key)).setChecked(True)
        else:
            checked = self.group.checkedButton()
            if checked is not None:
                self.group.setExclusive(False)
                checked.setChecked(False)
                self.group.setExclusive(True)


class RatingPanel(QFrame):
    """Rates one response under the rubric; emits `save_requested(values)` on Enter/Save."""

    save_requested = Signal(dict)
    focus_next_pane = Signal(bool)  # True: forward (Tab), False: back (Shift+Tab)

    def __init__(self, rubric: Rubric, parent: QWidget | None = None, *, failed: bool = False) -> None:
        super().__init__(parent)
        self.rubric = rubric
        self.asked = rubric.asked(failed)  # a failed answer is rated by its outcome alone
        self.setObjectName("ratingPanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        col = QVBoxLayout(self)
        col.setContentsMargins(6, 6, 6, 6)
        col.setSpacing(3)
        self.rows: list[QWidget] = []
        self.row_labels: list[QLabel] = []
        self.choice_rows: dict[str, _ChoiceRow] = {}
        self.note = QLineEdit()
        self.note.setPlaceholderText("note (Enter saves)")
        self.note.setObjectName("ratingNote")
        self.tags = QLineEdit()
        self.tags.setPlaceholderText("tags, comma separated")
        self.tags.setObjectName("ratingTags")
        if failed:
            hint = QLabel("No answer to judge: rate its outcome; nothing else is asked.")
            hint.setObjectName("ratingOutcomeOnly")
            hint.setWordWrap(True)
            col.addWidget(hint)
        for criterion in self.asked:
            label = QLabel(criterion.label)
            label.setStyleSheet(f"color: {defs.muted()}; font-size: 9pt;")
            col.addWidget(label)
            if criterion.kind in ("choice", "scale"):
                row: QWidget = _ChoiceRow(criterion)
                row.chosen.connect(self._on_chosen)  # type: ignore[attr-defined]
                self.choice_rows[criterion.key] = row  # type: ignore[assignment]
            elif criterion.kind == "tags":
                row = self.tags
            else:
                row = self.note if criterion.key == "note" else QLineEdit()
            col.addWidget(row)
            self.rows.append(row)
            self.row_labels.append(label)
        foot = QHBoxLayout()
        self.state = QLabel("not rated")
        self.state.setObjectName("ratingState")
        self.state.setWordWrap(True)  # a refusal is read whole, not cut
        self.state.setStyleSheet(f"color: {defs.muted()};")
        foot.addWidget(self.state, 1)
        self.save_button = QPushButton("Save (Enter)")
        self.save_button.setObjectName("ratingSave")
        self.save_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.save_button.clicked.connect(self.request_save)
        foot.addWidget(self.save_button)
        col.addLayout(foot)
        for edit in (self.note, self.tags):
            edit.installEventFilter(self)
        self.current_row = 0
        self.saved: Rating | None = None
        self._highlight()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Up/Down leave a text row for the neighbouring rows, as they do on choice rows.
        if event.type() == QEvent.Type.KeyPress and watched in (self.note, self.tags):
            key = event.key()  # type: ignore[attr-defined]
            if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
                self.current_row = self.rows.index(watched)  # type: ignore[arg-type]
                self.move_to(self.current_row + (1 if key == Qt.Key.Key_Down else -1))
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                # Handled here, once: QLineEdit would also pass Return on to the panel.
                self.request_save()
                return True
        return super().eventFilter(watched, event)

    # --- values ---------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {key: row.value() for key, row in self.choice_rows.items()}
        for criterion in self.asked:
            if criterion.kind == "text":
                values[criterion.key] = self.note.text().strip()
            elif criterion.kind == "tags":
                values[criterion.key] = [t.strip() for t in self.tags.text().split(",") if t.strip()]
        return values

    def show_rating(self, rating: Rating | None, who: str = "") -> None:
        self.saved = rating
        if rating is None:
            for row in self.choice_rows.values():
                row.set_value(None)
            self.note.clear()
            self.tags.clear()
            self.state.setText("not rated")
            self.state.setStyleSheet(f"color: {defs.muted()};")
            return
        for key, row in self.choice_rows.items():
            row.set_value(rating.values.get(key))
        self.note.setText(rating.note)
        self.tags.setText(", ".join(rating.tags))
        edits = " (edited)" if rating.supersedes else ""
        self.state.setText(f"saved ✓{edits}{' by ' + who if who else ''}")
        self.state.setStyleSheet(f"color: {defs.ok_text()};")

    def show_problem(self, text: str) -> None:
        self.state.setText(text)
        self.state.setStyleSheet(f"color: {defs.error_text()};")

    def request_save(self) -> None:
        self.save_requested.emit(self.values())

    # --- keyboard -------------------------------------------------------------------------
    def _on_chosen(self) -> None:
        self.setFocus()

    def _highlight(self) -> None:
        for i, label in enumerate(self.row_labels):
            bold = "font-weight: bold; color: palette(text);" if i == self.current_row and self.hasFocus() else ""
            label.setStyleSheet(f"color: {defs.muted()}; font-size: 9pt; {bold}")

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self._highlight()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self._highlight()

    def move_to(self, row: int) -> None:
        self.current_row = max(0, min(row, len(self.rows) - 1))
        widget = self.rows[self.current_row]
        if isinstance(widget, QLineEdit):
            widget.setFocus()
        else:
            self.setFocus()
        self._highlight()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        row = self.rows[self.current_row]
        if Qt.Key.Key_1 <= key <= Qt.Key.Key_9 and isinstance(row, _ChoiceRow):
            if row.choose(key - Qt.Key.Key_1):
                self.move_to(self.current_row + 1)
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.request_save()
            return
        if key == Qt.Key.Key_Down:
            self.move_to(self.current_row + 1)
            return
        if key == Qt.Key.Key_Up:
            self.move_to(self.current_row - 1)
            return
        super().keyPressEvent(event)

    def focusNextPrevChild(self, forward: bool) -> bool:
        # Tab leaves the panel for the next pane's rating instead of walking its buttons.
        self.focus_next_pane.emit(forward)
        return True
