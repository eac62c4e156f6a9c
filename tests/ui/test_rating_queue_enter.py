"""In the suite rating queue Enter goes on to the next case once a case is rated, and
replacing a saved rating asks first."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from desk.core.rating import enter_in_queue
from tests.ui.test_rating_queue import open_queue, press, rate_focused, run_three


def test_enter_rule() -> None:
    from desk.core.rating import Rating

    saved = Rating("r", "x", "ann", "v1", 0.0, {"outcome": "failure", "tags": ["a"]})
    assert enter_in_queue({"outcome": "success"}, None, False) == "save"
    same = {"outcome": "failure", "note": "", "tags": ["a"], "quality": None}
    assert enter_in_queue(same, saved, True) == "next_case"
    assert enter_in_queue(same, saved, False) == "next_answer"
    assert enter_in_queue({**same, "outcome": "partial"}, saved, True) == "confirm"


def test_queue_enter_moves_on_and_asks_before_replacing(window, qtbot, vendor, mw_loop, tmp_path, monkeypatch):
    panel = run_three(window, vendor, mw_loop, tmp_path)
    window.engine.set_rater_name("Ana")
    queue = open_queue(panel, qtbot, None)
    for _ in range(3):
        rate_focused(qtbot, "1113")
    assert "Case 1 / 3" in queue.case_label.text()
    press(qtbot, Qt.Key.Key_Return)  # the case is rated: Enter goes on
    assert "Case 2 / 3" in queue.case_label.text()
    assert queue.progress_label.text() == "3 / 9 rated"

    press(qtbot, Qt.Key.Key_PageUp)
    first = queue.panes[0]
    assert QApplication.focusWidget() is first.rating
    stored = first.rating.saved
    asked: list[str] = []

    def answer(reply):
        def question(_parent, title, _text, *args, **kwargs):
            asked.append(title)
            return reply
        return question

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    press(qtbot, Qt.Key.Key_2)  # outcome: partial
    press(qtbot, Qt.Key.Key_Return)
    assert asked == ["Replace your rating?"]
    (kept,) = window.engine.ratings.saved.current([first.result.id], rater="Ana")
    assert kept.id == stored.id and first.rating.values()["outcome"] == "success"  # nothing replaced

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    first.rating.move_to(0)
    press(qtbot, Qt.Key.Key_2)
    press(qtbot, Qt.Key.Key_Return)
    assert len(asked) == 2
    (replaced,) = window.engine.ratings.saved.current([first.result.id], rater="Ana")
    assert replaced.outcome == "partial" and replaced.supersedes == stored.id
    queue.close()
