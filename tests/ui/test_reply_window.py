"""Reply and Reply to all in the real window, from the keyboard (issue 16): a pane's ↩ opens
its reply box, Enter sends, and the model's next turn streams into the same pane below the
first answer; Ctrl+Shift+Y opens the box under the answers, which replies to every model."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt

from tests.ui.qt_helpers import run_until
from tests.vendor_server import Script


def _chats(vendor) -> list:
    return [rec for rec in vendor.requests if rec.method == "POST"]


def test_reply_and_reply_to_all_from_the_keyboard(window, qtbot, vendor, mw_loop):
    vendor.enqueue("gpt-4o-mini", Script(text_pieces=["Which quarter?"]), Script(text_pieces=["Q3 grew 4%."]),
                   Script(text_pieces=["Overall: up."]))
    vendor.enqueue("claude-sonnet-4-5", Script(text_pieces=["Sales rose."]), Script(text_pieces=["Up 2% overall."]))
    window.picker.set_checked({"openai/gpt-4o-mini", "claude/claude-sonnet-4-5"})
    window.compose.prompt.setFocus()
    qtbot.keyClicks(window.compose.prompt, "How did sales do?")
    qtbot.keyClick(window.compose.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    run_until(mw_loop, lambda: window.current_trial_id is not None and not window.tab.running)
    panes = {p.result.model: p for p in window.grid.panes}
    oa = panes["openai/gpt-4o-mini"]
    run_until(mw_loop, lambda: oa.reply_button.isVisible())

    # Reply to one model: its ↩ button, type, Enter.
    oa.reply_button.setFocus()
    qtbot.keyClick(oa.reply_button, Qt.Key.Key_Space)
    assert oa.reply_box.isVisible() and oa.reply_box.edit.hasFocus()
    qtbot.keyClicks(oa.reply_box.edit, "The third quarter.")
    qtbot.keyClick(oa.reply_box.edit, Qt.Key.Key_Return)
    run_until(mw_loop, lambda: oa.turn_panes and oa.turn_panes[0].is_finished and not window.tab.running)
    assert len(window.grid.panes) == 2  # no new pane: the turn is inside the first answer's
    assert oa.turn_panes[0].text() == "Q3 grew 4%."
    assert "turn 2" in oa.turn_panes[0].real_title
    assert window.statusBar().currentMessage().startswith("Reply done: 1 of 1 answers ok")
    assert [(m["role"], m["text"]) for m in _chats(vendor)[-1].messages] == [
        ("user", "How did sales do?"), ("assistant", "Which quarter?"), ("user", "The third quarter.")]

    # Reply to all: Ctrl+Shift+Y, type, Enter; each model continues its own conversation.
    qtbot.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.reply_all_box.edit.hasFocus()
    qtbot.keyClicks(window.reply_all_box.edit, "And overall?")
    qtbot.keyClick(window.reply_all_box.edit, Qt.Key.Key_Return)
    cl = panes["claude/claude-sonnet-4-5"]
    run_until(mw_loop, lambda: len(oa.turn_panes) == 2 and len(cl.turn_panes) == 1
              and all(p.is_finished for p in (*oa.turn_panes, *cl.turn_panes)) and not window.tab.running)
    assert (oa.turn_panes[1].text(), cl.turn_panes[0].text()) == ("Overall: up.", "Up 2% overall.")
    last_oa = [r for r in _chats(vendor) if r.protocol == "openai"][-1]
    assert [m["role"] for m in last_oa.messages] == ["user", "assistant", "user", "assistant", "user"]

    # Reopened from the store, the turns are back in their panes.
    trial_id = window.current_trial_id
    window.new_trial()
    window.open_trial(trial_id)
    reopened = {p.result.model: p for p in window.grid.panes}
    assert [p.text() for p in reopened["openai/gpt-4o-mini"].turn_panes] == ["Q3 grew 4%.", "Overall: up."]


def test_blind_rating_hides_a_later_turns_model_and_waits_for_its_rating(window, qtbot, vendor, mw_loop):
    vendor.enqueue("gpt-4o-mini", Script(text_pieces=["Which quarter?"]), Script(text_pieces=["Q3 grew 4%."]))
    vendor.enqueue("claude-sonnet-4-5", Script(text_pieces=["Sales rose."]))
    window.engine.set_rater_name("ann")
    window.blind_action.setChecked(True)
    window.picker.set_checked({"openai/gpt-4o-mini", "claude/claude-sonnet-4-5"})
    window.compose.prompt.setPlainText("How did sales do?")
    window.send()
    run_until(mw_loop, lambda: window.current_trial_id is not None and not window.tab.running)
    oa = next(p for p in window.grid.panes if p.result.model == "openai/gpt-4o-mini")
    run_until(mw_loop, lambda: oa.reply_button.isVisible())
    window.reply(oa.result.id, "The third quarter.")
    run_until(mw_loop, lambda: oa.turn_panes and oa.turn_panes[0].rating is not None and not window.tab.running)
    turn = oa.turn_panes[0]
    assert "gpt-4o-mini" not in turn.title.text() and "turn 2" in turn.title.text()
    values = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "na", "quality": 4}
    for pane in window.grid.panes:
        window._save_rating(pane, values)
    assert not window._all_rated() and turn.blind_label is not None  # the later turn is still to rate
    window.rate_next_unrated()
    assert window.focusWidget() is turn.rating or turn.rating.isAncestorOf(window.focusWidget())
    window._save_rating(turn, values)
    assert window._all_rated() and turn.blind_label is None and "gpt-4o-mini" in turn.title.text()
