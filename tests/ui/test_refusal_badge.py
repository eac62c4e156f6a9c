"""A refusal is badged in its pane; content desk did not read is named in the details."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from desk.core.response import ResponseResult, Status, note_unknown
from desk.ui.response_pane import ResponsePane


def _answer(**kw) -> ResponseResult:
    return ResponseResult(id="r1", trial_id="t1", model="openai/gpt-4o", settings={}, status=Status.OK,
                          text="I can't help with that.", **kw)


def test_a_refusal_is_badged_and_said_in_the_details(qtbot):
    pane = ResponsePane("openai/gpt-4o")
    qtbot.addWidget(pane)
    pane.show()
    result = _answer(refusal=True)
    note_unknown(result.unknown_fields, "delta.audio", '{"transcript": "hi"}')
    note_unknown(result.unknown_fields, "delta.audio", '{"transcript": "there"}')
    pane.finish(result)
    assert pane.refusal_badge.isVisible() and pane.refusal_badge.text() == "Refusal"
    details = pane.details_text()
    assert details is not None
    assert "refusal: yes" in details
    assert "content desk does not read: delta.audio ×2" in details
    pane.set_blind("A")  # the badge is part of the answer, not of the model's identity
    assert pane.refusal_badge.isVisible()


def test_an_ordinary_answer_has_no_badge(qtbot):
    pane = ResponsePane("openai/gpt-4o")
    qtbot.addWidget(pane)
    pane.show()
    pane.finish(_answer())
    assert not pane.refusal_badge.isVisible()
    details = pane.details_text()
    assert details is not None and "refusal" not in details and "does not read" not in details
