"""A case's answer panes are placed one per turn of the event loop, after the one the
keyboard starts on (six at once held the window 50-60 ms, issue 21): the queue is usable the
moment it is shown, the rest appear while idle, and anything that reads them all (a save,
Tab) places the rest first."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt

from tests.ui.test_rating_queue import run_three


def test_first_pane_is_usable_at_once_and_the_rest_come_while_idle(window, qtbot, vendor, mw_loop, tmp_path):
    panel = run_three(window, vendor, mw_loop, tmp_path)
    queue = panel.open_rating_queue(rater="ana")  # a small run: made and shown in this turn
    assert queue is not None
    qtbot.addWidget(queue)
    assert len(queue.grid.panes) == 1  # the rest wait for the coming turns of the loop
    assert queue.grid.columns() == 3  # their room kept: the first pane never moves as they arrive
    first = queue.grid.panes[0]
    assert first.title.text() == "Answer A" and first.rating is not None
    qtbot.waitUntil(lambda: len(queue.grid.panes) == 3)
    assert [p.title.text() for p in queue.grid.panes] == ["Answer A", "Answer B", "Answer C"]
    assert sorted(p.result.model for p in queue.grid.panes) == sorted(p.result.model for p in queue.panes)
    qtbot.waitUntil(lambda: queue.grid.panes[0].rating.hasFocus() or not queue.isActiveWindow(), timeout=2000)


def test_a_rating_saved_before_the_rest_are_placed_records_every_answer_shown(
        window, qtbot, vendor, mw_loop, tmp_path):
    panel = run_three(window, vendor, mw_loop, tmp_path)
    queue = panel.open_rating_queue(rater="ana")
    assert queue is not None
    qtbot.addWidget(queue)
    queue.next_case()  # a case opened by the keyboard is placed the same way
    assert len(queue.grid.panes) == 1
    rating = queue.grid.panes[0].rating
    for key in (Qt.Key.Key_1, Qt.Key.Key_1, Qt.Key.Key_1, Qt.Key.Key_3, Qt.Key.Key_Return):
        qtbot.keyClick(rating, key)  # no turn of the loop in between
    assert len(queue.grid.panes) == 3  # placed by the save, which reads them all
    assert rating.saved is not None
    assert list(rating.saved.shown_order) == [p.result.id for p in queue.grid.panes]
    assert queue.grid.panes[1].rating.hasFocus() or not queue.isActiveWindow()  # on to the next answer
    assert [p.title.text() for p in queue.grid.panes] == ["Answer A", "Answer B", "Answer C"]  # blind still
