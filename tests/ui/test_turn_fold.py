"""Earlier turns fold to one line (desk.ui.turn_fold): in a 1024×700 window, after Reply to
all, each conversation's first answer is a one-line header and the second turn's answer
gets the room; a click opens the first answer again, rating it opens it too, and a reopened
trial is folded the same way."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt

from tests.ui.conversations import reply_to_all

SECOND = "".join(f"line {i} of the second answer\n\n" for i in range(30))


@pytest.fixture
def replied(window, vendor, mw_loop):
    window.resize(1024, 700)
    reply_to_all(window, vendor, mw_loop, "Which **quarter**?\n\nQ3 or Q4.", SECOND)
    return {p.result.model: p for p in window.grid.panes}


def _lines(pane) -> float:
    view = pane.answer_view()
    return view.height() / view.fontMetrics().lineSpacing()


def test_the_first_turn_folds_to_one_line_and_the_second_gets_the_room(window, qtbot, replied):
    oa = replied["openai/gpt-4o-mini"]
    for root in replied.values():
        assert root.fold is not None and root.fold.isVisible() and root.fold.isChecked()
        assert not root.body.isVisible() and not root.title.provider.isVisible()
        assert root.fold.height() < 2 * root.fold.fontMetrics().lineSpacing()  # one line
        assert root.turn_panes[0].fold is None and root.turn_panes[0].body.isVisible()  # the latest stays open
        assert _lines(root.turn_panes[0]) >= 8  # was about 3 beside the first answer
    assert oa.fold.text().startswith("▸ turn 1: Which quarter?")  # its first line, as shown (no "**")

    qtbot.mouseClick(oa.fold, Qt.MouseButton.LeftButton)
    assert oa.body.isVisible() and oa.fold.text() == "▾ turn 1" and oa.title.provider.isVisible()
    qtbot.mouseClick(oa.fold, Qt.MouseButton.LeftButton)
    assert not oa.body.isVisible() and oa.fold.text().startswith("▸ turn 1")


def test_rating_a_folded_turn_opens_it(window, replied):
    window.engine.set_rater_name("ann")
    window.rate_next_unrated()  # the first unrated answer: a first turn, folded
    first = window.all_panes()[0]
    assert first.fold is not None and not first.fold.isChecked() and first.body.isVisible()
    assert first.rating.isVisible() and first.body.isAncestorOf(first.rating)  # under its own answer


def test_a_reopened_trial_shows_its_earlier_turns_folded(window, replied):
    trial_id = window.current_trial_id
    window.new_trial()
    window.open_trial(trial_id)
    for root in window.grid.panes:
        assert root.fold is not None and root.fold.isChecked() and root.body.isHidden()
        assert root.body.isAncestorOf(root.rating)  # its rating folds with it, not under the later turn
        assert not root.turn_panes[0].body.isHidden()
