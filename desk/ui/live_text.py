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

The frame a pane's text first overflows it, its scrollbar appears and the text re-wraps
beside it: a few milliseconds each, so when 16 equal streams overflow together only
OVERFLOWS_PER_FRAME of them do it in one frame (`new_frame`), the rest in the next ones.
"""

from __future__ import annotations

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QPlainTextEdit

OVERFLOWS_PER_FRAME = 2
_overflows_left = [OVERFLOWS_PER_FRAME]


def new_frame() -> None:
    """A frame begins: panes whose text overflows may show their scrollbars again."""
    _overflows_left[0] = OVERFLOWS_PER_FRAME


class LiveText:
    """Appends to `view` (read-only, wrapped at its width, its document never replaced)
    while an answer streams."""

    def __init__(self, view: QPlainTextEdit) -> None:
        self.view = view
        self._doc = view.document()
        self._layout = self._doc.documentLayout()
        self._end = QTextCursor(self._doc)
        self._viewport = view.viewport()
        self._bar = view.verticalScrollBar()
        self._sized = (1, 1)  # (lines, blocks) the scrollbar was last told about

    def append(self, text: str) -> None:
        height = self._viewport.height()
        top = self._last_paragraph_top(height)
        self._end.movePosition(QTextCursor.MoveOperation.End)
        self._layout.blockSignals(True)  # the layout still lays the text out; it only does not ask for a repaint
        try:
            self._end.insertText(text)
        finally:
            self._layout.blockSignals(False)
        if not self._bar.isVisible() and (self._fits(height) or _take_overflow()):
            # while the text fits, settle at once: the scrollbar appears (and the text re-wraps
            # beside it) in the frame the text overflows, as QPlainTextEdit does it
            self.settle()
        if top < height:
            top = max(0, top)
            self._viewport.update(0, top, self._viewport.width(), height - top)

    def _last_paragraph_top(self, height: int) -> int:
        """Where the last paragraph starts on screen: only it (re-wrapped) and what follows it
        change. Far below what is shown (counted in lines, at least half a line's height each)
        it is not looked for line by line."""
        last = self._doc.lastBlock()
        below = last.firstLineNumber() - self._bar.value()  # the bar counts lines from the top shown
        if self._bar.isVisible() and below * self.view.fontMetrics().lineSpacing() > 2 * height:
            return height
        return self.view.cursorRect(QTextCursor(last)).top()

    def _fits(self, height: int) -> bool:
        """Whether the text surely still fits the view (lines of the view's font)."""
        return self._doc.lineCount() * self.view.fontMetrics().lineSpacing() < height - 2 * self._doc.documentMargin()

    def settle(self) -> None:
        """Fit the scrollbar to the text's length, if it changed since the last settle."""
        sized = (self._doc.lineCount(), self._doc.blockCount())
        if sized != self._sized:
            self._sized = sized
            self._layout.documentSizeChanged.emit(self._layout.documentSize())


def _take_overflow() -> bool:
    if _overflows_left[0] <= 0:
        return False
    _overflows_left[0] -= 1
    return True
