"""The window never calls an answer stored when the store refused it, and an answer's
details carry the note of a half character replaced by U+FFFD."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt

from desk.ui.response_pane import details_text
from tests.ui.qt_helpers import run_until
from tests.vendor_server import Script


def send(window, qtbot, mw_loop, models):
    window.picker.set_checked(set(models))
    window.compose.prompt.setFocus()
    qtbot.keyClicks(window.compose.prompt, "React.")
    qtbot.keyClick(window.compose.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    run_until(mw_loop, lambda: window.current_trial_id is not None)
    return {p.result.model: p for p in window.grid.panes}


def test_an_answer_the_store_refused_is_said_not_stored(window, qtbot, vendor, mw_loop):
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["shown"]))
    window.engine.store.db.execute("""CREATE TRIGGER refuse_answers BEFORE INSERT ON responses
        BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END""")
    panes = send(window, qtbot, mw_loop, ["openai/gpt-4o-mini"])
    assert panes["openai/gpt-4o-mini"].text() == "shown"
    assert window.banner.isVisible()
    text = window.banner.label.text()
    assert "openai/gpt-4o-mini: the answer could not be stored" in text and "database or disk is full" in text
    assert "stored ·" not in window.statusBar().currentMessage()


def test_split_and_lone_surrogates_in_the_window(window, qtbot, vendor, mw_loop):
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["thumbs ", "\ud83d", "\udc4d"]))
    vendor.set_default("claude-sonnet-4-5", Script(text_pieces=["half ", "\ud83d"]))
    panes = send(window, qtbot, mw_loop, ["openai/gpt-4o-mini", "claude/claude-sonnet-4-5"])
    assert panes["openai/gpt-4o-mini"].text() == "thumbs \U0001f44d"
    lone = panes["claude/claude-sonnet-4-5"].result
    assert lone.text == "half \ufffd"
    assert "note: the vendor sent a lone UTF-16 surrogate" in details_text(lone)
    assert not window.banner.isVisible()
