"""The window's message strip (its banner): problems are said in the window, never by a crash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from desk.ui import defs


class Banner(QWidget):
    """A non-modal message strip: problems are said in the window, never by a crash."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setObjectName("bannerText")
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.label, 1)
        self.action = QPushButton()  # an offer that goes with the message ("Try the starter suite")
        self.action.setObjectName("bannerAction")
        self.action.setVisible(False)
        self.action.clicked.connect(self._act)
        self._on_action: Callable[[], Any] | None = None
        row.addWidget(self.action)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(lambda: self.setVisible(False))
        row.addWidget(close)
        self.setAutoFillBackground(True)
        self.setVisible(False)

    def show_message(self, text: str, *, error: bool = True,
                     action: tuple[str, Callable[[], Any]] | None = None) -> None:
        colour = defs.error_tint() if error else defs.info_tint()
        self.setStyleSheet(f"Banner {{ background: {colour}; border-radius: 4px; }}")
        self.label.setText(text)
        self._on_action = action[1] if action else None
        self.action.setText(action[0] if action else "")
        self.action.setVisible(action is not None)
        self.setVisible(True)

    def _act(self) -> None:
        callback = self._on_action
        self.setVisible(False)
        if callback is not None:
            callback()
