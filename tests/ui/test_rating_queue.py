"""The rating queue of a suite run, driven by the keyboard only: every answer of three cases
rated blind, progress, skip and back, the automatic constraint verdict, a second rater."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from desk.core.suite import AUTO_RATER
from desk.ui.rating_panel import RatingPanel
from tests.ui.test_suites_view import MODELS, script, suites_tab, until

CASES = [
    {"id": "q1", "prompt": "case-1: Summarise the report.", "expect": "clarify", "tags": ["ops"],
     "notes": "There are two reports; a good answer asks which."},
    {"id": "q2", "prompt": "case-2: Greet me in at most three words.", "expect": "follow_constraints",
     "constraints": [{"id": "count:word_count_range", "kwargs": {"min_words": 1, "max_words": 3}}]},
    {"id": "q3", "prompt": "case-3: What is 2 + 2?", "expect": "answer"},
]
NAMES = ("gpt", "claude", "llama", "openai", "local", "TTFT", "$")


def run_three(window, vendor, mw_loop, tmp_path):
    script(vendor)
    path = tmp_path / "three.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in CASES), encoding="utf-8")
    panel = suites_tab(window)
    assert mw_loop.run_until_complete(panel.import_file(path, "three"))
    panel.set_checked(MODELS)
    assert panel.start()
    mw_loop.run_until_complete(until(lambda: not panel.running, timeout=20))
    assert panel.progress_label.text() == "9 / 9 done"
    return panel


def press(qtbot, *keys, modifier=Qt.KeyboardModifier.NoModifier):
    """Each key to whichever widget has the keyboard focus now (as a person typing)."""
    for key in keys:
        qtbot.keyClick(QApplication.focusWidget(), key, modifier)


def rate_focused(qtbot, digits: str) -> RatingPanel:
    panel = QApplication.focusWidget()
    assert isinstance(panel, RatingPanel), f"a rating panel should have the focus, not {panel!r}"
    press(qtbot, *[getattr(Qt.Key, f"Key_{d}") for d in digits])
    press(qtbot, Qt.Key.Key_Return)
    assert "saved" in panel.state.text(), panel.state.text()
    return panel


def visible_text(queue) -> str:
    parts = [queue.case_label.text(), queue.expect_label.text(), queue.notes.text()]
    for pane in queue.panes:
        parts += [pane.title.text(), pane.status.text(), pane.error.text()]
    return " ".join(parts)


def open_queue(panel, qtbot, rater):
    queue = panel.open_rating_queue(rater=rater)
    assert queue is not None
    qtbot.addWidget(queue)
    qtbot.waitExposed(queue)
    queue.activateWindow()
    qtbot.waitUntil(lambda: isinstance(QApplication.focusWidget(), RatingPanel))
    return queue


def test_rating_queue_by_keyboard_only_blind_with_skip_back_and_a_second_rater(
        window, qtbot, vendor, mw_loop, tmp_path):
    panel = run_three(window, vendor, mw_loop, tmp_path)
    window.engine.set_rater_name("Ana Ruiz")
    run_id = panel.current_run_id
    assert panel.rate_button.isEnabled()
    queue = open_queue(panel, qtbot, None)  # the rater is the name set in the settings
    assert queue.rater == "Ana Ruiz"
    assert queue.progress_label.text() == "0 / 9 rated"
    assert "PgDn" in queue.keys.text() and "PgUp" in queue.keys.text()  # the keys are shown

    # Case 1: blind and shuffled; the expect and the rater notes are shown, never a model.
    assert "Case 1 / 3" in queue.case_label.text() and "q1" in queue.case_label.text()
    assert "clarify" in queue.expect_label.text()
    assert "There are two reports" in queue.notes.text()
    assert queue.prompt.toPlainText() == CASES[0]["prompt"]
    assert [p.title.text() for p in queue.panes] == ["Answer A", "Answer B", "Answer C"]
    assert not any(name in visible_text(queue) for name in NAMES)
    order1 = queue.shown_order()
    assert sorted(p.result.model for p in queue.panes) == sorted(MODELS)

    # Rate the three answers: digits pick (each moves to the next row), Enter saves and jumps on.
    first = rate_focused(qtbot, "1113")  # success, asked_clarifying, followed, 3
    assert first is queue.panes[0].rating
    assert queue.progress_label.text() == "1 / 9 rated"
    assert queue.panes[1].title.text() == "Answer B"  # still blind mid-way
    rate_focused(qtbot, "2732")
    rate_focused(qtbot, "3531")
    assert queue.progress_label.text() == "3 / 9 rated"
    assert all(":" in p.title.text() and "/" in p.title.text() for p in queue.panes)  # revealed
    assert "TTFT" in queue.panes[0].status.text()

    # Skip case 2 (PgDn), rate case 3, then back (PgUp) to case 2.
    press(qtbot, Qt.Key.Key_PageDown)
    assert "Case 2 / 3" in queue.case_label.text()
    assert "follow_constraints" in queue.expect_label.text() and "count:word_count_range" in queue.expect_label.text()
    press(qtbot, Qt.Key.Key_PageDown)  # skipped: nothing rated
    assert "Case 3 / 3" in queue.case_label.text()
    assert queue.progress_label.text() == "3 / 9 rated"
    for _ in range(3):
        rate_focused(qtbot, "1334")
    assert queue.progress_label.text() == "6 / 9 rated"
    press(qtbot, Qt.Key.Key_PageUp)
    assert "Case 2 / 3" in queue.case_label.text()
    assert [p.title.text() for p in queue.panes] == ["Answer A", "Answer B", "Answer C"]  # blind again
    autos = {r.response_id: r for r in window.engine.ratings.saved.current(queue.shown_order(), rater=AUTO_RATER)}
    assert len(autos) == 3
    # Answer A: followed; then look at what the rater sees under it.
    assert rate_focused(qtbot, "1314") is queue.panes[0].rating
    label = queue.panes[0].findChild(QLabel, "autoVerdict")
    verdict = autos[queue.panes[0].result.id].constraints
    assert label is not None and not label.isHidden()
    assert f"Automatic constraint check: <b>{verdict}</b>" in label.text()
    assert ("agrees with yours" if verdict == "followed" else "differs from yours (followed)") in label.text()
    second = queue.panes[1].findChild(QLabel, "autoVerdict")
    assert second is not None and second.isHidden()  # not before the rater has rated it
    # Tab / Shift+Tab move between answers.
    press(qtbot, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is queue.panes[2].rating
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is queue.panes[1].rating
    rate_focused(qtbot, "1324")
    rate_focused(qtbot, "1324")
    assert queue.progress_label.text() == "9 / 9 rated"
    assert "rated" in queue.message.text()

    # Back to case 1 (Ctrl+Left): revealed, this rater's ratings shown.
    press(qtbot, Qt.Key.Key_Left, modifier=Qt.KeyboardModifier.ControlModifier)
    assert "Case 1 / 3" in queue.case_label.text()
    assert all("saved" in p.rating.state.text() for p in queue.panes)
    assert all(":" in p.title.text() for p in queue.panes)
    press(qtbot, Qt.Key.Key_Down, modifier=Qt.KeyboardModifier.ControlModifier)  # next unrated: none left
    assert "Every answer of this run is rated by Ana Ruiz" in queue.message.text()

    # Stored: blind, in the order shown, by this rater.
    items = window.engine.suites.rating_queue(run_id, "Ana Ruiz")
    assert all(item.done for item in items)
    ids = [rid for item in items for rid in item.response_ids]
    mine = window.engine.ratings.saved.current(ids, rater="Ana Ruiz")
    assert len(mine) == 9
    assert all(r.blind for r in mine)
    by_id = {r.response_id: r for r in mine}
    for rid in order1:
        assert list(by_id[rid].shown_order) == order1
    ratings = [by_id[rid] for rid in order1]
    assert [(r.outcome, r.uncertainty, r.constraints, r.quality) for r in ratings] == [
        ("success", "asked_clarifying", "followed", 3),
        ("partial", "needless_question", "na", 2),
        ("failure", "confident_wrong", "na", 1),
    ]
    queue.close()

    # The matrix shows the ratings.
    def key() -> str:
        return panel.cell_index("q1", MODELS[0]).data().split("\n")[2]

    mw_loop.run_until_complete(until(lambda: "unrated" not in key()))  # the matrix reloads off the GUI thread
    assert key()[0] in "✓✗•"

    # A second rater starts from zero, blind, on the same run.
    window.engine.set_rater_name("Bo")
    other = open_queue(panel, qtbot, None)
    assert other.rater == "Bo"
    assert other.progress_label.text() == "0 / 9 rated"
    assert "Case 1 / 3" in other.case_label.text()
    assert [p.title.text() for p in other.panes] == ["Answer A", "Answer B", "Answer C"]
    assert all(p.rating.saved is None for p in other.panes)
    rate_focused(qtbot, "1113")
    assert other.progress_label.text() == "1 / 9 rated"
    assert len(window.engine.ratings.saved.current(ids, rater="Ana Ruiz")) == 9
    other.close()
