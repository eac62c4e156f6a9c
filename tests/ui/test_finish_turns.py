"""Answers whose streams end in the same frame are shown done one pane per turn of the event
loop, ahead of their rating panels and markdown (issue 21: sixteen panes re-laid out in one
frame stalled the window)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QTimer

from desk.core.response import ResponseResult, Status


def test_answers_ending_together_are_shown_done_one_per_turn_before_any_is_rated(window, qtbot):
    results = [ResponseResult(id=f"r{i}", trial_id="t", model="openai/gpt-4o-mini", settings={}) for i in range(6)]
    panes = [window.pane_for(r) for r in results]
    per_turn: list[tuple[int, int]] = []  # (panes shown done, panes with a rating panel) at each turn
    turn = QTimer()
    turn.setInterval(0)  # fires once per pass of the event loop
    turn.timeout.connect(lambda: per_turn.append((sum(p.is_finished for p in panes),
                                                  sum(p.rating is not None for p in panes))))
    turn.start()
    for r in results:  # every stream's end handed over in one frame
        r.status, r.text = Status.OK, f"answer {r.id}"
        window.pane_binder.finished(r)
    assert not any(p.is_finished for p in panes)
    qtbot.waitUntil(lambda: all(p.rating is not None for p in panes))
    turn.stop()
    done = [d for d, _ in per_turn]
    assert max(b - a for a, b in zip([0, *done], done, strict=False)) == 1, per_turn
    assert all(rated == 0 for d, rated in per_turn if d < len(panes)), per_turn
    assert [p.text() for p in panes] == [f"answer r{i}" for i in range(6)]
