"""Earlier turns of a conversation folded to one line. In a small window (1024×700) a pane
that held turn 1 and turn 2 split its height between them, and each answer showed about
three lines: once a conversation has a new turn, its earlier answers fold to a one-line
header ("▸ turn 1: their first line"), the current turn takes the room, and a click (or
Space) on a header opens that answer again (rating an earlier turn opens it too)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent, QTextDocument
from PySide6.QtWidgets import QPushButton, QSizePolicy

from desk.ui.response_pane import ResponsePane

FOLDED, OPEN = "▸", "▾"


class TurnFold(QPushButton):
    """An earlier turn's header, first in its pane's header row: checked, the turn's answer
    is folded away and the header reads "▸ turn N: its first line" across the row (the
    provider gives way: the current turn below names the model); unchecked, a small "▾ turn N"."""

    def __init__(self, pane: ResponsePane, turn: int) -> None:
        super().__init__()
        self.pane = pane
        self.turn = turn
        self.setObjectName("turnFold")
        self.setFlat(True)
        self.setCheckable(True)
        self.setStyleSheet("text-align: left; padding: 1px 4px;")
        self.setToolTip("An earlier turn of this conversation: click to show or fold its answer")
        self.setAccessibleName(f"Turn {turn}")
        self.toggled.connect(self._fold)
        pane.head.insertWidget(0, self)
        self._fold(False)

    def _fold(self, folded: bool) -> None:
        self.pane.body.setVisible(not folded)
        self.pane.title.provider.setVisible(not folded)
        wide = QSizePolicy.Policy.Ignored if folded else QSizePolicy.Policy.Maximum
        self.setSizePolicy(wide, QSizePolicy.Policy.Fixed)
        self.pane.head.setStretchFactor(self, 1 if folded else 0)
        self._label()

    def _label(self) -> None:
        if not self.isChecked():
            self.setText(f"{OPEN} turn {self.turn}")
            return
        first = next((line.strip() for line in self.pane.text().splitlines() if line.strip()), "")
        line = QTextDocument()
        line.setMarkdown(first)  # read as shown: "**$2,350**" -> "$2,350"
        first = " ".join(line.toPlainText().split())
        room = max(self.width() - 2 * self.fontMetrics().averageCharWidth() - 8, 40)
        self.setText(self.fontMetrics().elidedText(f"{FOLDED} turn {self.turn}: {first}",
                                                   Qt.TextElideMode.ElideRight, room))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.isChecked():
            self._label()  # the first line, cut to the row's new width


def fold_earlier(root: ResponsePane) -> None:
    """A new turn was added to `root`'s conversation: fold every turn but the latest."""
    chain = [root, *root.turn_panes]
    for turn, pane in enumerate(chain[:-1], start=1):
        if pane.fold is None:
            pane.fold = TurnFold(pane, turn)
        pane.fold.setChecked(True)


def unfold(pane: ResponsePane) -> None:
    """Open `pane`'s answer if an earlier turn folded it (its rating is about to be used)."""
    if pane.fold is not None:
        pane.fold.setChecked(False)
