"""A conversation in History (issue 16): the History list says how many turns a trial took,
reopening it from History rebuilds every pane's conversation (each turn in order, with its
own timing, tokens, cost and rating), and Run again replays each model's replies in order."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt

from desk.engine.answer_figures import metrics_line
from tests.ui.qt_helpers import run_until
from tests.vendor_server import Script

OA, CL = "openai/gpt-4o-mini", "claude/claude-sonnet-4-5"
RATED = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "na", "quality": 4}


def _chats(vendor) -> list:
    return [rec for rec in vendor.requests if rec.method == "POST"]


def _conversations(window) -> dict[str, list]:
    return {root.result.model: [root, *root.turn_panes] for root in window.grid.panes}


@pytest.fixture
def conversation(window, vendor, mw_loop):
    """gpt-4o-mini asks, is told, answers (turn 2, rated), then is asked again (turn 3);
    claude answers at once. A single-shot trial is sent after it."""
    vendor.enqueue("gpt-4o-mini", Script(text_pieces=["Which quarter?"]),
                   Script(text_pieces=["Q3 grew 4%."], usage={"input_tokens": 30, "output_tokens": 7}),
                   Script(text_pieces=["Overall: up."], usage={"input_tokens": 50, "output_tokens": 3}))
    vendor.enqueue("claude-sonnet-4-5", Script(text_pieces=["Sales rose."]))
    window.engine.set_rater_name("ann")
    window.picker.set_checked({OA, CL})
    window.compose.prompt.setPlainText("How did sales do?")
    window.send()
    run_until(mw_loop, lambda: window.current_trial_id is not None and not window.tab.running)
    oa = _conversations(window)[OA][0]
    window.reply(oa.result.id, "The third quarter.")
    run_until(mw_loop, lambda: oa.turn_panes and oa.turn_panes[0].rating is not None and not window.tab.running)
    window._save_rating(oa.turn_panes[0], RATED)
    window.reply(oa.turn_panes[0].result.id, "And overall?")
    run_until(mw_loop, lambda: len(oa.turn_panes) == 2 and oa.turn_panes[1].rating is not None
              and not window.tab.running)
    trial_id = window.current_trial_id
    shown = {model: [(p.text(), p.status.text()) for p in panes] for model, panes in _conversations(window).items()}

    vendor.enqueue("gpt-4o-mini", Script(text_pieces=["Hello."]))
    window.new_trial()
    window.compose.prompt.setPlainText("Say hello")
    window.picker.set_checked({OA})
    window.send()
    run_until(mw_loop, lambda: window.current_trial_id not in (None, trial_id) and not window.tab.running)
    window.new_trial()
    return trial_id, shown


def test_history_says_how_many_turns_a_trial_took(window, conversation):
    trial_id, _ = conversation
    entries = {window.history.list.item(i).data(Qt.ItemDataRole.UserRole): window.history.list.item(i).text()
               for i in range(window.history.list.count())}
    assert entries[trial_id].endswith(" · 3 turns") and "gpt-4o-mini" in entries[trial_id]
    (single,) = (text for tid, text in entries.items() if tid != trial_id)
    assert "turn" not in single  # a single shot says nothing about turns


def test_reopening_from_history_rebuilds_each_conversation_in_order(window, qtbot, mw_loop, conversation):
    trial_id, shown = conversation
    item = next(window.history.list.item(i) for i in range(window.history.list.count())
                if window.history.list.item(i).data(Qt.ItemDataRole.UserRole) == trial_id)
    rect = window.history.list.visualItemRect(item)
    qtbot.mouseClick(window.history.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    run_until(mw_loop, lambda: window.current_trial_id == trial_id)
    reopened = _conversations(window)
    assert [(p.text(), p.status.text()) for p in reopened[OA]] == shown[OA]
    assert [(p.text(), p.status.text()) for p in reopened[CL]] == shown[CL]
    oa = reopened[OA]
    assert ["turn 2" in oa[1].real_title, "turn 3" in oa[2].real_title] == [True, True]
    # Each turn's own figures: turn 2's tokens are its own, not the conversation's.
    assert all(p.status.text() == metrics_line(p.result) for p in oa)
    assert ("30 in / 7 out" in oa[1].status.text(), "50 in / 3 out" in oa[2].status.text()) == (True, True)
    assert all(p.rating is not None for p in oa)  # every turn is ratable, and only turn 2 was rated
    assert [p.rating.saved is not None for p in oa] == [False, True, False]
    assert oa[1].rating.saved.values["quality"] == 4


def test_run_again_from_the_window_replays_the_replies_in_order(window, vendor, mw_loop, conversation):
    trial_id, _ = conversation
    window.open_trial(trial_id)
    vendor.enqueue("gpt-4o-mini", Script(text_pieces=["Which one?"]), Script(text_pieces=["Q3: +4%."]),
                   Script(text_pieces=["Up."]))
    vendor.enqueue("claude-sonnet-4-5", Script(text_pieces=["Rose."]))
    before = len(_chats(vendor))
    window.history.run_again.click()
    run_until(mw_loop, lambda: window.current_trial_id not in (None, trial_id) and not window.tab.running
              and len(window.tab.figures) == 4 and window.tab.done_count() == 4)
    again = _conversations(window)
    assert [p.text() for p in again[OA]] == ["Which one?", "Q3: +4%.", "Up."]
    assert [p.text() for p in again[CL]] == ["Rose."]
    last = [r for r in _chats(vendor)[before:] if r.protocol == "openai"][-1]
    assert [(m["role"], m["text"]) for m in last.messages] == [
        ("user", "How did sales do?"), ("assistant", "Which one?"), ("user", "The third quarter."),
        ("assistant", "Q3: +4%."), ("user", "And overall?")]
    assert window.engine.store.trials.get(window.current_trial_id).parent_trial_id == trial_id


def test_a_turn_after_a_clarifying_question_says_what_its_rating_means(window, mw_loop, conversation):
    """Turn 2 follows "Which quarter?" (a question to the user): its rating says that its
    Outcome is whether the answer after the question succeeded and where the question's need
    is rated; turn 3 follows an answer, the first turns follow nothing: no such line."""
    trial_id, _ = conversation
    window.open_trial(trial_id)
    panes = _conversations(window)
    oa, cl = panes[OA], panes[CL]
    assert [bool(p.rating.hint.text()) for p in (*oa, *cl)] == [False, True, False, False]
    assert oa[1].rating.hint.text().startswith("After a clarifying question: Outcome is whether the answer")
    hint = oa[1].rating.hint
    assert not hint.isVisibleTo(oa[1].rating)  # the strip stays compact until the keyboard is there
    window._start_rating(oa[1])
    assert hint.isVisibleTo(oa[1].rating)
    window._start_rating(oa[2])
    run_until(mw_loop, lambda: not hint.isVisibleTo(oa[1].rating))  # the focus left: hidden again
    assert not oa[2].rating.hint.isVisibleTo(oa[2].rating)
