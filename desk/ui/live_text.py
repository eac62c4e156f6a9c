"""Streamed text appended to a plain-text view at the cost of what changes on screen.

QPlainTextEdit answers each appended line by repainting its whole viewport (its layout
asks for an update of the whole document) and by resizing its scrollbar, which Fusion
paints with gradients. With 16 panes streaming 200 chunks a second that was most of the
GUI thread's time: text redrawn that had not moved, four scrollbars redrawn every frame.
Here an append repaints only from the last paragraph's top down, and only when that is on
screen (a pane showing the start of a long answer repaints nothing); the scrollbar follows
the text's length when `settle` is called, a few times a second (the grid staggers the
panes' settles across frames). What the view shows, and its scrollbar once settled, are
what QPlainTextEdit itself would show.
"""

from __future__ import annotations

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QPlainTextEdit


class LiveText:
    """Appends to `view` (read-only, wrapped at its width) while an answer streams."""

    def __init__(self, view: QPlainTextEdit) -> None:
        self.view = view
        self._sized = (1, 1)  # (lines, blocks) the scrollbar was last told about

    def append(self, text: str) -> None:
        view = self.view
        doc = view.document()
        layout = doc.documentLayout()
        last = doc.lastBlock()
        # where the last paragraph starts on screen: only it (re-wrapped) and what follows change
        top = view.cursorRect(QTextCursor(last)).top() if last.isValid() else 0
        end = QTextCursor(doc)
        end.movePosition(QTextCursor.MoveOperation.End)
        layout.blockSignals(True)  # the layout still lays the text out; it only does not ask for a repaint
        try:
            end.insertText(text)
        finally:
            layout.blockSignals(False)
        if not view.verticalScrollBar().isVisible():
            # while the text fits, settle at once: the scrollbar appears (and the text re-wraps
            # beside it) in the frame the text overflows, as QPlainTextEdit does it
            self.settle()
        viewport = view.viewport()
        if top < viewport.height():
            top = max(0, top)
            viewport.update(0, top, viewport.width(), viewport.height() - top)

    def settle(self) -> None:
        """Fit the scrollbar to the text's length, if it changed since the last settle."""
        doc = self.view.document()
        sized = (doc.lineCount(), doc.blockCount())
        if sized != self._sized:
            self._sized = sized
            layout = doc.documentLayout()
            layout.documentSizeChanged.emit(layout.documentSize())
