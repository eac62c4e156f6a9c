"""A failed answer is rated by its outcome alone, in the window as in the store."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt

from desk.core.response import Status
from tests.ui.qt_helpers import run_until
from tests.vendor_server import Script


def _send_one_ok_one_failed(window, vendor, mw_loop):
    vendor.set_default("gpt-4o-mini", Script(status=400, error_message="context too long"))
    vendor.set_default("claude-sonnet-4-5", Script(text_pieces=["Revenue fell 4%."]))
    window.picker.set_checked({"openai/gpt-4o-mini", "claude/claude-sonnet-4-5"})
    window.compose.prompt.setPlainText("How did revenue change?")
    window.send()
    run_until(mw_loop, lambda: window.current_trial_id is not None)
    run_until(mw_loop, lambda: all(p.rating is not None for p in window.grid.panes))
    failed = next(p for p in window.grid.panes if p.result.status == Status.ERROR)
    ok = next(p for p in window.grid.panes if p is not failed)
    return ok, failed


def test_failed_pane_asks_only_the_outcome_and_blind_reveals_after_it(window, qtbot, vendor, mw_loop):
    window.engine.set_rater_name("Ana")
    window.blind_action.setChecked(True)
    window._on_blind_toggled()
    ok, failed = _send_one_ok_one_failed(window, vendor, mw_loop)
    assert set(failed.rating.choice_rows) == {"outcome"}
    assert set(ok.rating.choice_rows) == {"outcome", "uncertainty", "constraints", "quality"}

    failed.rating.move_to(0)
    qtbot.keyClick(failed.rating, Qt.Key.Key_3)  # failure
    qtbot.keyClick(failed.rating, Qt.Key.Key_Return)
    assert "saved" in failed.rating.state.text()
    assert failed.blind_label is not None  # the other answer is not rated yet
    ok.rating.move_to(0)
    for key in (Qt.Key.Key_1, Qt.Key.Key_3, Qt.Key.Key_3, Qt.Key.Key_4):
        qtbot.keyClick(ok.rating, key)
    qtbot.keyClick(ok.rating, Qt.Key.Key_Return)
    assert ok.blind_label is None and failed.blind_label is None  # every answer rated: revealed

    (stored,) = window.engine.ratings.saved.current([failed.result.id])
    assert dict(stored.values) == {"outcome": "failure"}


def test_a_refused_rating_is_explained_whole(window, qtbot, vendor, mw_loop):
    window.engine.set_rater_name("Bo")
    ok, _ = _send_one_ok_one_failed(window, vendor, mw_loop)
    ok.rating.move_to(0)
    qtbot.keyClick(ok.rating, Qt.Key.Key_1)
    qtbot.keyClick(ok.rating, Qt.Key.Key_Return)
    text = ok.rating.state.text()
    assert text.count("not saved") == 1
    assert "Uncertainty handling: not set" in text and "Quality: not set" in text
    assert ok.rating.state.wordWrap()  # read whole in a narrow pane, not cut
