"""Answers that finish together are laid out one per turn of the event loop (issue 21:
eight markdown layouts back to back froze the window for a quarter of a second)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QTimer

from desk.core.response import ResponseResult, Status
from desk.ui.response_pane import ResponsePane


def _answer(i: int) -> ResponseResult:
    return ResponseResult(id=f"r{i}", trial_id="t", model="openai/gpt-4o", settings={}, status=Status.OK,
                          text=f"# Answer {i}\n\n- one\n- two\n")


def test_panes_finishing_in_one_turn_render_their_markdown_in_separate_turns(qtbot):
    panes = [ResponsePane(f"model {i}") for i in range(8)]
    for pane in panes:
        qtbot.addWidget(pane)
        pane.show()
    rendered_per_turn: list[int] = []
    turn = QTimer()
    turn.setInterval(0)  # fires once per pass of the event loop
    turn.timeout.connect(lambda: rendered_per_turn.append(sum("Answer" in p.rendered.toPlainText() for p in panes)))
    turn.start()
    for i, pane in enumerate(panes):  # all eight streams end in the same turn
        pane.finish(_answer(i))
    qtbot.waitUntil(lambda: bool(rendered_per_turn) and rendered_per_turn[-1] == len(panes))
    turn.stop()
    steps = [b - a for a, b in zip([0, *rendered_per_turn], rendered_per_turn, strict=False)]
    assert max(steps) == 1, rendered_per_turn
