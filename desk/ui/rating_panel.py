"""Rating under each pane, keyboard first: digits choose, arrows move, Enter saves.

Rows follow the rubric: outcome, uncertainty handling, hard constraints, quality, then a
note and tags. Digits pick the option numbered in the current row and move on to the next
row; Up/Down move between rows; Enter saves (even from the note field); Tab and
Shift+Tab go to the next or previous pane's rating.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desk.core.rating import Rating
from desk.core.rubric import Criterion, Rubric
from desk.ui import defs

_SHORT_CRITERIA = {"uncertainty": "Uncertainty", "constraints": "Constraints"}

_SHORT = {  # compact labels for the narrow pane; the full label is the tooltip
    "asked_clarifying": "asked (needed)",
    "stated_uncertainty": "stated limits",
    "confident_correct": "confident, right",
    "partial_with_caveats": "partial + caveats",
    "confident_wrong": "confident, wrong",
    "needless_refusal": "needless refusal",
    "needless_question": "needless question",
}


def _chip_style() -> str:
    """The chosen option is unmistakable in light and dark palettes: a strong filled chip
    with a bold label at AA contrast (not a light grey fill)."""
    fill, text = defs.chosen_fill(), defs.chosen_text()
    return ("QToolButton { border: 1px solid palette(mid); border-radius: 7px; padding: 0px 4px; font-size: 9pt; }"
            f"QToolButton:checked {{ background: {fill}; color: {text}; border: 2px solid {fill}; "
            "font-weight: bold; }")


class _ChoiceRow(QWidget):
    """One criterion: numbered toggle buttons, at most one checked.

    The buttons are made only when the row is first shown (`build`): a panel's chips show
    only while it has the keyboard, and making them for every finished answer cost most of
    the panel's 4-15 ms. The choice itself lives in `_index`, so values, summaries and
    saved ratings work before that."""

    chosen = Signal()

    def __init__(self, criterion: Criterion, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.criterion = criterion
        if criterion.kind == "scale":
            self.options = [(str(v), str(v), "") for v in range(criterion.low, criterion.high + 1)]
        else:
            self.options = [(o.key, _SHORT.get(o.key, o.label), o.hint or o.label) for o in criterion.options]
        self.keys: list[str] = [key for key, _label, _tip in self.options]
        self._index = -1
        self.group: QButtonGroup | None = None

    def build(self) -> None:
        """Make the buttons (once), showing the current choice."""
        if self.group is not None:
            return
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        flow = QHBoxLayout(self)  # one row of chips; a narrow pane scrolls it sideways
        flow.setContentsMargins(0, 0, 0, 0)
        flow.setSpacing(3)
        for i, (key, label, tip) in enumerate(self.options):
            button = QToolButton()
            button.setCheckable(True)
            button.setText(self._text(i))
            button.setToolTip(f"{i + 1}: {tip or label}")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the panel owns the keyboard
            button.setObjectName(f"{self.criterion.key}:{key}")
            button.setChecked(i == self._index)
            self.group.addButton(button, i)
            flow.addWidget(button)
        flow.addStretch(1)
        self.group.idClicked.connect(self._clicked)

    def _text(self, i: int) -> str:
        label = self.options[i][1]
        return label if self.criterion.kind == "scale" else f"{i + 1} {label}"

    def _clicked(self, index: int) -> None:
        self._index = index
        self.chosen.emit()

    def checked_button(self) -> QToolButton | None:
        return self.group.button(self._index) if self.group is not None and self._index >= 0 else None  # type: ignore[return-value]

    def label_of(self, value: Any) -> str:
        return self.options[self.keys.index(str(value))][1]

    def choose(self, index: int) -> bool:
        if 0 <= index < len(self.keys):
            self._set_index(index)
            return True
        return False

    def value(self) -> Any:
        if self._index < 0:
            return None
        key = self.keys[self._index]
        return int(key) if self.criterion.kind == "scale" else key

    def set_value(self, value: Any) -> None:
        key = str(value) if value is not None else None
        self._set_index(self.keys.index(key) if key in self.keys else -1)

    def _set_index(self, index: int) -> None:
        self._index = index
        if self.group is None:
            return
        if index >= 0:
            self.group.button(index).setChecked(True)
        elif (checked := self.group.checkedButton()) is not None:
            self.group.setExclusive(False)
            checked.setChecked(False)
            self.group.setExclusive(True)


class _ChipRow(QScrollArea):
    """A criterion's chips on one line, scrolled sideways when the pane is narrower: the
    strip stays one row high whatever the number of options."""

    def __init__(self, row: _ChoiceRow) -> None:
        super().__init__()
        self.setWidget(row)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._fit()

    def _fit(self) -> None:
        row = self.widget()
        bar = self.horizontalScrollBar().sizeHint().height() if row.sizeHint().width() > self.width() else 0
        self.setFixedHeight(row.sizeHint().height() + bar)

    def minimumSizeHint(self) -> QSize:
        return QSize(40, self.height())

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit()


class RatingPanel(QFrame):
    """Rates one response under the rubric; emits `save_requested(values)` on Enter/Save."""

    save_requested = Signal(dict)
    focus_next_pane = Signal(bool)  # True: forward (Tab), False: back (Shift+Tab)

    def __init__(self, rubric: Rubric, parent: QWidget | None = None, *, failed: bool = False) -> None:
        super().__init__(parent)
        self.rubric = rubric
        self.asked = rubric.asked(failed)  # a failed answer is rated by its outcome alone
        self.setObjectName("ratingPanel")
        self.setStyleSheet(_chip_style())  # once for every chip below (a style sheet each is slow)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        col = QVBoxLayout(self)
        col.setContentsMargins(3, 2, 3, 2)
        col.setSpacing(2)
        self.rows: list[QWidget] = []
        self.row_labels: list[QLabel] = []
        self.choice_rows: dict[str, _ChoiceRow] = {}
        self.chip_rows: dict[str, _ChipRow] = {}
        # A compact strip, so the answer keeps the pane's height: one summary line (each
        # criterion and its value; a click picks the criterion), and only while this panel
        # has the keyboard the current criterion's chips and the note, tags and Save line.
        top = QHBoxLayout()
        top.setSpacing(4)
        self.summary = QLabel()
        self.summary.setObjectName("ratingSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.linkActivated.connect(lambda href: self.move_to(int(href)))
        top.addWidget(self.summary, 1)
        self.state = QLabel("not rated")
        self.state.setObjectName("ratingState")
        self.state.setWordWrap(True)
        self.state.setStyleSheet(f"color: {defs.muted()};")
        top.addWidget(self.state, 0, Qt.AlignmentFlag.AlignTop)
        self.save_button = QPushButton("Save ⏎")
        self.save_button.setObjectName("ratingSave")
        self.save_button.setToolTip("Save this rating (Enter)")
        self.save_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.save_button.clicked.connect(self.request_save)
        self.save_button.setStyleSheet("QPushButton { padding: 1px 6px; }")
        top.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignTop)
        col.addLayout(top)
        self.hint = _hint_label(col)  # what this turn's rating means, when that needs saying (show_hint)
        self.note = QLineEdit()
        self.note.setPlaceholderText("note (Enter saves)")
        self.note.setObjectName("ratingNote")
        self.tags = QLineEdit()
        self.tags.setPlaceholderText("tags, comma separated")
        self.tags.setObjectName("ratingTags")
        self.foot = QWidget()
        foot = QHBoxLayout(self.foot)
        foot.setContentsMargins(0, 0, 0, 0)
        foot.setSpacing(4)
        if failed:
            hint = QLabel("No answer to judge: rate its outcome; nothing else is asked.")
            hint.setObjectName("ratingOutcomeOnly")
            hint.setWordWrap(True)
            col.addWidget(hint)
        for criterion in self.asked:
            label = QLabel(criterion.label)
            label.setWordWrap(True)
            if criterion.kind in ("choice", "scale"):
                row: QWidget = _ChoiceRow(criterion, self)
                row.setVisible(False)  # owned here, shown in its chip row once made (_chip_row)
                row.chosen.connect(self._on_chosen)  # type: ignore[attr-defined]
                self.choice_rows[criterion.key] = row  # type: ignore[assignment]
                col.addWidget(label)  # its chips go below it when first shown (_chip_row)
            else:
                if criterion.kind == "tags":
                    row = self.tags
                else:
                    row = self.note if criterion.key == "note" else QLineEdit()
                row.setToolTip(criterion.label)
                foot.addWidget(row, 2 if row is self.note else 1)
            self.rows.append(row)
            self.row_labels.append(label)
        col.addWidget(self.foot)
        for edit in (self.note, self.tags):
            edit.installEventFilter(self)
        self.current_row = 0
        self.saved: Rating | None = None
        self._highlight()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.FocusIn, QEvent.Type.FocusOut) and watched in (self.note, self.tags):
            QTimer.singleShot(0, self, self._highlight)
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

    def show_hint(self, text: str) -> None:
        """A line on what this rating means, shown while the keyboard is here (the strip
        stays compact otherwise); also the summary's tooltip."""
        self.hint.setText(text)
        self._highlight()

    def show_rating(self, rating: Rating | None, who: str = "") -> None:
        self.saved = rating
        if rating is None:
            for row in self.choice_rows.values():
                row.set_value(None)
            self.note.clear()
            self.tags.clear()
            self.state.setText("not rated")
            self.state.setStyleSheet(f"color: {defs.muted()};")
            self._highlight()
            return
        for key, row in self.choice_rows.items():
            row.set_value(rating.values.get(key))
        self.note.setText(rating.note)
        self.tags.setText(", ".join(rating.tags))
        edits = " (edited)" if rating.supersedes else ""
        self.state.setText(f"saved ✓{edits}{' by ' + who if who else ''}")
        self.state.setStyleSheet(f"color: {defs.ok_text()};")
        self._highlight()

    def show_problem(self, text: str) -> None:
        self.state.setText(text)
        self.state.setStyleSheet(f"color: {defs.error_text()};")

    def request_save(self) -> None:
        self.save_requested.emit(self.values())

    # --- keyboard -------------------------------------------------------------------------
    def _on_chosen(self) -> None:
        self.setFocus()

    def active(self) -> bool:
        """Whether the keyboard is in this panel (on it, or in its note or tags field)."""
        focus = QApplication.focusWidget()
        return focus is not None and (focus is self or self.isAncestorOf(focus))

    def _highlight(self) -> None:
        active = self.active()
        for i, (label, row) in enumerate(zip(self.row_labels, self.rows, strict=True)):
            label.setVisible(False)  # the summary line names the current criterion
            if isinstance(row, _ChoiceRow):
                shown = active and i == self.current_row
                holder = self._chip_row(row, label) if shown else self.chip_rows.get(row.criterion.key)
                if holder is not None:
                    holder.setVisible(shown)
                    if shown and (checked := row.checked_button()) is not None:
                        holder.ensureWidgetVisible(checked, 8, 0)  # the choice shows
        on_text_row = not isinstance(self.rows[self.current_row], _ChoiceRow)
        self.foot.setVisible((active and on_text_row) or bool(self.note.text() or self.tags.text()))
        self.save_button.setVisible(active or (self.saved is None and any(
            row.value() is not None for row in self.choice_rows.values())))
        self.hint.setVisible(active and bool(self.hint.text()))
        self._show_summary(active)

    def _chip_row(self, row: _ChoiceRow, label: QLabel) -> _ChipRow:
        """The criterion's chips, made the first time they are shown, below its label."""
        holder = self.chip_rows.get(row.criterion.key)
        if holder is None:
            row.build()
            holder = self.chip_rows[row.criterion.key] = _ChipRow(row)
            col: QVBoxLayout = self.layout()  # type: ignore[assignment]
            col.insertWidget(col.indexOf(label) + 1, holder)
        return holder

    def _show_summary(self, active: bool) -> None:
        """One short line. Idle: each chosen value in bold (a click goes to its criterion);
        hidden while nothing is chosen. With the keyboard here: the values chosen so far, the
        criterion the digits answer now (highlighted) and how many follow."""
        parts = []
        choices = [(i, c) for i, c in enumerate(self.asked) if isinstance(self.rows[i], _ChoiceRow)]
        after = 0
        for i, criterion in choices:
            row: _ChoiceRow = self.rows[i]  # type: ignore[assignment]
            value = row.value()
            name = _escape(_SHORT_CRITERIA.get(criterion.key, criterion.label))
            shown = f"<b>{_escape(row.label_of(value))}</b>" if value is not None else name
            if active and i == self.current_row:
                parts.append(f"<span style='background: {defs.chosen_fill()}; color: {defs.chosen_text()};'>"
                             f"&nbsp;{name}{': ' + shown if value is not None else ''}&nbsp;</span>")
            elif active and i > self.current_row and value is None:
                after += 1
            elif value is not None:
                link = "style='color: palette(text); text-decoration: none;'"
                parts.append(f"<a href='{i}' title='{_escape(criterion.label)}' {link}>{shown}</a>")
        if after:
            parts.append(f"<span style='color: {defs.muted()};'>+{after}</span>")
        self.summary.setText(" · ".join(parts))
        self.summary.setToolTip("\n".join(f"{c.label}: {self.rows[i].value() or '–'}" for i, c in choices))  # type: ignore[attr-defined]
        self.summary.setVisible(bool(parts))
        self.state.setVisible(self.saved is not None or self.state.text() != "not rated" or not active)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self._highlight()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        QTimer.singleShot(0, self, self._highlight)  # once the focus has landed (maybe in the note)

    def move_to(self, row: int) -> None:
        self.current_row = max(0, min(row, len(self.rows) - 1))
        widget = self.rows[self.current_row]
        self.foot.setVisible(True)  # before the note or tags field takes the focus
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


def _hint_label(col: QVBoxLayout) -> QLabel:
    hint = QLabel()
    col.addWidget(hint)
    hint.setObjectName("ratingHint")
    hint.setWordWrap(True)
    hint.setStyleSheet(f"color: {defs.muted()};")
    hint.setVisible(False)
    return hint


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
