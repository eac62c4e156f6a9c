"""*Give results*: one box per tool call of an answer, for the result the model gets back."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from desk.core.tools import ToolCall


class ResultsDialog(QDialog):
    def __init__(self, calls: Sequence[ToolCall], canned: Sequence[str] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Give results")
        col = QVBoxLayout(self)
        col.addWidget(QLabel("The result of each call, as the tool would return it (text or JSON); "
                             "the model continues with them as a new turn."))
        self.boxes: list[QPlainTextEdit] = []
        for n, call in enumerate(calls, 1):
            col.addWidget(QLabel(f"{call.headline(n)}\n{call.pretty_arguments()}"))
            box = QPlainTextEdit()
            box.setObjectName(f"result{n}")
            box.setMaximumHeight(90)
            if n <= len(canned):  # the trial's (or suite case's) canned result, to send or edit
                box.setPlainText(canned[n - 1])
            col.addWidget(box)
            self.boxes.append(box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Send")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        col.addWidget(buttons)

    def results(self) -> list[str]:
        return [box.toPlainText() for box in self.boxes]
