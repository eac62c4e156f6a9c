"""Panes are made ahead while the window is idle, one per pass of the loop, for the models
picked: a send then only places them (making one cost 3-4 ms of a frame). A pane made
ahead shows the same as one made on the spot: title, buttons, status, answer, rating."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtWidgets import QLabel, QToolButton

from desk.core.response import ResponseResult, Status
from desk.ui import frame_queue
from desk.ui.response_pane import ResponsePane
from tests.ui.qt_helpers import run_until
from tests.vendor_server import Script

MODELS = {"openai/gpt-4o-mini", "claude/claude-sonnet-4-5", "local/llama3.2"}


def looks(pane: ResponsePane) -> dict:
    """What a pane shows, widget by widget (names, texts, which are visible)."""
    return {
        "title": pane.title.text(), "provider": pane.title.provider.text(), "name": pane.title.name.text(),
        "status": pane.status.text(), "text": pane.raw.toPlainText(),
        "labels": sorted((w.objectName(), w.text(), w.isVisibleTo(pane)) for w in pane.findChildren(QLabel)
                         if w.objectName()),
        "buttons": sorted((w.objectName(), w.text(), w.isVisibleTo(pane)) for w in pane.findChildren(QToolButton)),
    }


def test_a_send_uses_panes_made_ahead_and_they_look_as_new_ones(window, qtbot, vendor, mw_loop):
    for model in ("gpt-4o-mini", "claude-sonnet-4-5", "llama3.2"):
        vendor.set_default(model, Script(text_pieces=["Revenue ", "fell 4%."]))
    window.picker.set_checked(MODELS)
    run_until(mw_loop, lambda: len(window.grid._spares) == 3)  # made while idle
    spares = list(window.grid._spares)
    assert all(not p.isVisible() for p in spares)
    window.compose.prompt.setPlainText("How did revenue change last quarter?")
    window.send()
    assert window.tab.running and window.grid._spares_wanted == 0  # none made while answers stream
    run_until(mw_loop, lambda: window.current_trial_id is not None)
    run_until(mw_loop, lambda: all(p.rating is not None for p in window.grid.panes))
    assert sorted(map(id, window.grid.panes)) == sorted(map(id, spares))  # no pane made on the spot
    run_until(mw_loop, lambda: len(window.grid._spares) == 3)  # and three more for the next send

    # the same answers in panes made on the spot (a past trial reopened, no spares left)
    made_ahead = {p.title.text(): looks(p) for p in window.grid.panes}
    assert {p.result.status for p in window.grid.panes} == {Status.OK}
    window.grid.keep_spares(0)
    window.grid._spares.clear()
    window.open_trial(window.current_trial_id)
    run_until(mw_loop, lambda: len(window.grid.panes) == 3 and all(p.rating is not None for p in window.grid.panes))
    assert not set(map(id, window.grid.panes)) & set(map(id, spares))
    fresh = {p.title.text(): looks(p) for p in window.grid.panes}
    assert set(fresh) == {"openai/gpt-4o-mini", "claude/claude-sonnet-4-5", "local/llama3.2"}
    for title, seen in made_ahead.items():
        assert seen["text"] == fresh[title]["text"] == "Revenue fell 4%."
        assert {k: v for k, v in seen.items() if k != "status"} == {k: v for k, v in fresh[title].items()
                                                                      if k != "status"}


def started(window, n: int) -> list[ResponseResult]:
    results = [ResponseResult(id=f"r{i}", trial_id="t", model=f"openai/m{i}", settings={}) for i in range(n)]
    for r in results:
        window.pane_binder.started(r)
    return results


def test_panes_made_ahead_are_placed_four_a_turn_others_one(window, qtbot, mw_loop):
    # One pass of layout costs about the same for four panes as for one (16 panes: 30-50 ms
    # of layout in all, four a turn, against 120 ms one a turn).
    window.grid.keep_spares(6)
    run_until(mw_loop, lambda: window.grid.spares() == 6)
    window.grid.keep_spares(0)
    results = started(window, 10)
    placed = []
    while frame_queue.pending():
        frame_queue._run_one()  # one turn of the loop's queued work
        placed.append(sum(r.id in window.panes_by_id for r in results))
    assert placed == [4, 6, 7, 8, 9, 10]  # the six made ahead four a turn, then one made a turn
    assert [p.title.text() for p in window.grid.panes] == [r.model for r in results]
