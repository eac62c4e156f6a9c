"""Pairwise preference between any two panes: left better, right better, tie, both bad."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from desk.core.rating import Preference
from desk.ui import defs, hotkeys
from desk.ui.response_pane import ResponsePane


class PreferenceBar(QFrame):
    preference_chosen = Signal(object, object, str, str)  # left pane, right pane, winner, reason

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preferenceBar")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 4, 0, 0)
        row.addWidget(QLabel("<b>Compare</b>"))
        self.left = QComboBox()
        self.left.setObjectName("preferLeft")
        self.right = QComboBox()
        self.right.setObjectName("preferRight")
        for combo in (self.left, self.right):
            # Long model names must not widen the window past a laptop screen: the combo
            # shows the start of the name, its list and tooltip the whole of it.
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
            combo.currentTextChanged.connect(lambda text, c=combo: c.setToolTip(text))
        row.addWidget(self.left, 1)
        row.addWidget(QLabel("with"))
        row.addWidget(self.right, 1)
        self.buttons: dict[str, QToolButton] = {}
        for winner, text, key in (("a", "◀ Left", hotkeys.PREFER_LEFT),
                                  ("b", "Right ▶", hotkeys.PREFER_RIGHT),
                                  ("tie", "Tie", hotkeys.PREFER_TIE),
                                  ("both_bad", "Both bad", hotkeys.PREFER_BOTH_BAD)):
            button = QToolButton()  # a push button's minimum width would not fit a laptop screen
            button.setText(text)
            button.setObjectName(f"prefer_{winner}")
            button.setToolTip(f"{text}{' better' if winner in ('a', 'b') else ''} ({key})")
            button.clicked.connect(lambda _c=False, w=winner: self._choose(w))
            QShortcut(QKeySequence(key), self, activated=lambda w=winner: self._choose(w))
            row.addWidget(button)
            self.buttons[winner] = button
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("why? (optional)")
        self.reason.setObjectName("preferReason")
        # The placeholder shows whole however narrow the window is.
        self.reason.setMinimumWidth(self.reason.fontMetrics().horizontalAdvance("why? (optional)") + 24)
        row.addWidget(self.reason, 2)
        self.state = QLabel("")
        self.state.setObjectName("preferState")
        row.addWidget(self.state)
        self._panes: list[ResponsePane] = []
        self.setVisible(False)

    def set_panes(self, panes: list[ResponsePane]) -> None:
        """Offer every finished pane, by its visible title (blind labels while blind)."""
        ready = [p for p in panes if p.result is not None and p.rating is not None]
        keep = (self.left.currentIndex(), self.right.currentIndex())
        self._panes = ready
        for combo in (self.left, self.right):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([p.title.text() for p in ready])
            combo.blockSignals(False)
        if len(ready) >= 2:
            self.left.setCurrentIndex(keep[0] if 0 <= keep[0] < len(ready) else 0)
            right = keep[1] if 0 <= keep[1] < len(ready) and keep[1] != self.left.currentIndex() else 1
            self.right.setCurrentIndex(right)
        self.setVisible(len(ready) >= 2)

    def clear_pair(self) -> None:
        self._panes = []
        self.left.clear()
        self.right.clear()
        self.state.clear()
        self.reason.clear()
        self.setVisible(False)

    def _choose(self, winner: str) -> None:
        if not self.isVisible() or len(self._panes) < 2:
            return
        i, j = self.left.currentIndex(), self.right.currentIndex()
        if i == j:
            self.show_problem("choose two different answers")
            return
        self.preference_chosen.emit(self._panes[i], self._panes[j], winner, self.reason.text().strip())

    def show_saved(self, pref: Preference) -> None:
        words = {"a": "left better", "b": "right better", "tie": "tie", "both_bad": "both bad"}
        self.state.setText(f"saved ✓ {words[pref.winner]}")
        self.state.setStyleSheet(f"color: {defs.ok_text()};")
        self.reason.clear()

    def show_problem(self, text: str) -> None:
        self.state.setText(text)
        self.state.setStyleSheet(f"color: {defs.error_text()};")
