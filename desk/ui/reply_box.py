"""A one-line reply: type, Enter sends. Under a pane (Reply) or under the answers (Reply to all)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QWidget


class ReplyBox(QWidget):
    """`submitted(text)` on Enter or the button; Esc hides a box that hides when done."""

    submitted = Signal(str)

    def __init__(self, placeholder: str, button: str, parent: QWidget | None = None, *,
                 hides_when_done: bool = False) -> None:
        super().__init__(parent)
        self.hides_when_done = hides_when_done  # shown only when asked for: answers keep the height
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 2, 0, 0)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.setAccessibleName(placeholder)
        self.edit.returnPressed.connect(self._submit)
        self.button = QPushButton(button)
        self.button.clicked.connect(self._submit)
        row.addWidget(self.edit, 1)
        row.addWidget(self.button)

    def open(self) -> None:
        self.setVisible(True)
        self.edit.setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.hides_when_done:
            self.setVisible(False)
            return
        super().keyPressEvent(event)

    def _submit(self) -> None:
        text = self.edit.text()
        if text.strip():
            self.submitted.emit(text)
            self.edit.clear()
            if self.hides_when_done:
                self.setVisible(False)
