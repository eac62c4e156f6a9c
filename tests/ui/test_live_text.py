"""Streamed text in a pane's raw view (desk/ui/live_text.py, issue 21): on screen it looks
exactly as QPlainTextEdit shows the same appends, but text arriving below what is shown
repaints nothing, and the scrollbar follows the text's length only when settled."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QEvent, QObject, QRect
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QPlainTextEdit

from desk.core.response import ResponseResult, Status
from desk.ui import live_text
from desk.ui.live_text import LiveText
from desk.ui.response_pane import ResponsePane

PIECES = (
    [f"word{i % 37} " + ("\n" if i % 9 == 8 else "") for i in range(160)]
    + ["a paragraph that keeps growing " * 3 for _ in range(12)]  # one block wrapping over many lines
    + ["\n\n", "مرحبا بالعالم ", "and back ", "👋🏽 ", "\u200b", "\tTabbed\n", "```\ncode()\n```\n"]
    + [f"line {i}\n" for i in range(80)]
)


class Paints(QObject):
    """Counts the paint events a widget gets."""

    def __init__(self, widget):
        super().__init__()
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def shown(qapp, view: QPlainTextEdit, text_area: bool = False):
    """What the screen holds for the view (its window's backing store) after pending events
    and paints: the whole view, or only its text area."""
    qapp.processEvents()
    rect = viewport_rect(view) if text_area else QRect(0, 0, view.width(), view.height())
    return view.screen().grabWindow(view.winId(), rect.x(), rect.y(), rect.width(), rect.height()).toImage()


def viewport_rect(view: QPlainTextEdit) -> QRect:
    return QRect(view.viewport().mapTo(view, view.viewport().rect().topLeft()), view.viewport().size())


def shown_views(qtbot, n: int = 2) -> list[QPlainTextEdit]:
    views = []
    for _ in range(n):
        view = QPlainTextEdit()
        view.setReadOnly(True)
        view.resize(320, 240)
        qtbot.addWidget(view)
        view.show()
        views.append(view)
    return views


def plain_append(view: QPlainTextEdit, text: str) -> None:
    cursor = view.textCursor()
    cursor.movePosition(QTextCursor.MoveOperation.End)
    cursor.insertText(text)


def test_streamed_text_looks_as_qt_shows_it_at_every_step(qapp, qtbot):
    live_view, reference = shown_views(qtbot)
    live = LiveText(live_view)
    bar, ref_bar = live_view.verticalScrollBar(), reference.verticalScrollBar()
    for n, piece in enumerate(PIECES, 1):
        live.append(piece)
        plain_append(reference, piece)
        # the text area is the same after every append, settled or not: nothing stale, nothing missing
        assert shown(qapp, live_view, True) == shown(qapp, reference, True), n
        if n % 7 == 0 or n == len(PIECES):
            live.settle()
            assert (bar.minimum(), bar.maximum(), bar.pageStep(), bar.value()) == (
                ref_bar.minimum(), ref_bar.maximum(), ref_bar.pageStep(), ref_bar.value()), n
            assert shown(qapp, live_view) == shown(qapp, reference), n  # scrollbar drawn alike too
        if n == 120:  # the reader scrolls into the middle while it streams
            bar.setValue(bar.maximum() // 2)
            ref_bar.setValue(ref_bar.maximum() // 2)
        if n == 196:  # ... and then down to the end, where new text shows as it comes
            bar.setValue(bar.maximum())
            ref_bar.setValue(ref_bar.maximum())
    assert live_view.toPlainText() == reference.toPlainText() == "".join(PIECES)


def test_text_arriving_below_what_is_shown_repaints_nothing(qapp, qtbot):
    view, _ = shown_views(qtbot)
    live = LiveText(view)
    for i in range(60):
        live.append(f"line {i}\n")
    live.settle()
    shown(qapp, view)
    paints = Paints(view.viewport())
    bar = view.verticalScrollBar()
    top = bar.value()
    for i in range(60, 200):
        live.append(f"line {i} " + "more " * (i % 5) + "\n")
        qapp.processEvents()
    assert paints.count == 0  # QPlainTextEdit's own append repaints its whole text area each time
    before = bar.maximum()
    live.settle()
    qapp.processEvents()
    assert bar.maximum() > before and bar.value() == top
    assert paints.count == 0


def test_text_arriving_on_screen_repaints_only_from_its_paragraph_down(qapp, qtbot):
    view, _ = shown_views(qtbot)
    live = LiveText(view)
    live.append("first line\nsecond line\n")
    shown(qapp, view)
    areas: list[QRect] = []

    class Areas(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint:
                areas.append(event.rect())
            return False

    spy = Areas()
    view.viewport().installEventFilter(spy)
    live.append("third")
    qapp.processEvents()
    assert areas, "text appended on screen must be drawn"
    line = view.fontMetrics().lineSpacing()
    assert min(a.top() for a in areas) >= 2 * line - 1  # the two lines above it are left alone


def test_a_streamed_pane_shows_what_its_answer_says_and_settles_its_scrollbar(qapp, qtbot):
    pane = ResponsePane("openai/gpt-4o-mini")
    pane.resize(360, 300)
    qtbot.addWidget(pane)
    pane.show()
    result = ResponseResult(id="r1", trial_id="t1", model="openai/gpt-4o-mini", settings={})
    pane.start(result)
    for piece in PIECES:
        pane.queue_text(piece)
        pane.flush()
        qapp.processEvents()  # a frame goes by
    bar = pane.raw.verticalScrollBar()
    assert pane.raw.toPlainText() == pane.text() == "".join(PIECES)
    unsettled = bar.maximum()
    pane.settle()  # a frame that settles this pane
    assert bar.maximum() > unsettled
    reference = QPlainTextEdit()  # what the pane showed before: each frame's text appended by Qt
    reference.setReadOnly(True)
    reference.resize(pane.raw.size())
    qtbot.addWidget(reference)
    reference.show()
    for piece in PIECES:
        plain_append(reference, piece)
        qapp.processEvents()
    assert bar.maximum() == reference.verticalScrollBar().maximum()
    result.text, result.status = "".join(PIECES), Status.OK
    pane.finish(result)
    assert pane.raw.toPlainText() == pane.text() == result.text


def test_panes_overflowing_together_show_their_scrollbars_a_few_a_frame(qapp, qtbot):
    views = shown_views(qtbot, 5)
    lives = [LiveText(view) for view in views]
    qapp.processEvents()
    shown_bars = []
    for frame in range(4):
        live_text.new_frame()
        for live in lives:
            live.append("".join(f"line {frame}.{i}\n" for i in range(40)))
        qapp.processEvents()
        shown_bars.append(sum(view.verticalScrollBar().isVisible() for view in views))
    # never all five re-wrapping in one frame (Qt itself fits a bar when it next paints that text)
    assert shown_bars[0] == live_text.OVERFLOWS_PER_FRAME == 2 and shown_bars[1:] == [5, 5, 5]
    reference = QPlainTextEdit()
    reference.setReadOnly(True)
    reference.resize(320, 240)
    qtbot.addWidget(reference)
    reference.show()
    for frame in range(4):
        plain_append(reference, "".join(f"line {frame}.{i}\n" for i in range(40)))
        qapp.processEvents()
    for view, live in zip(views, lives, strict=True):
        live.settle()
        assert shown(qapp, view) == shown(qapp, reference)
