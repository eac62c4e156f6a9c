"""After Reply to all (issue 16), the window's answer keys work on each conversation's
latest turn: the preference bar compares the latest turns, Ctrl+1…9 puts the digits on the
latest turn's rating (rated per turn), and scrolling answers together moves the same turn
of every conversation."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.ui.conversations import reply_to_all
from tests.ui.qt_helpers import run_until

LONG = "".join(f"line {i} of a long answer\n" for i in range(300))


@pytest.fixture
def two_turns(window, vendor, mw_loop):
    window.engine.set_rater_name("ann")
    reply_to_all(window, vendor, mw_loop, "Which quarter?", LONG)
    return window.grid.panes


def test_the_preference_bar_compares_the_latest_turns(window, two_turns):
    latest = [p.turn_panes[0] for p in two_turns]
    bar = window.preferences
    assert bar.isVisible() and [bar.left.itemText(i) for i in range(bar.left.count())] == [
        p.title.text() for p in latest]
    assert all("turn 2" in bar.left.itemText(i) for i in range(bar.left.count()))
    bar.buttons["a"].click()
    (pref,) = window.engine.store.ratings.current_preferences()
    assert {pref.response_a, pref.response_b} == {p.result.id for p in latest}


def test_ctrl_digit_puts_the_digits_on_the_latest_turns_rating(window, qtbot, two_turns):
    first = two_turns[0]
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.grid.maximised is first
    focus = QApplication.focusWidget()
    rating = first.turn_panes[0].rating
    assert focus is not None and (focus is rating or rating.isAncestorOf(focus))
    for _ in range(len(first.turn_panes[0].rating.rows)):  # a digit per criterion, then save
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_1)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    rated = {r.response_id for r in window.engine.store.ratings.current()}
    assert first.turn_panes[0].result.id in rated and first.result.id not in rated  # rating is per turn


def test_scrolling_together_moves_the_same_turn_of_every_conversation(window, mw_loop, two_turns):
    window.link_action.trigger()
    assert window.grid.linked
    (a, b) = (p.turn_panes[0].answer_view().verticalScrollBar() for p in two_turns)
    run_until(mw_loop, lambda: a.maximum() > 0 and b.maximum() > 0)
    firsts = [p.answer_view().verticalScrollBar().value() for p in two_turns]
    a.setValue(a.maximum())
    assert b.value() == b.maximum()
    assert [p.answer_view().verticalScrollBar().value() for p in two_turns] == firsts  # turn 1 stays put
