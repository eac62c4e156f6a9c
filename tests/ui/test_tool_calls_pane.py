"""A pane lists the tools its model called, with desk's verdict on each, above the text;
blind too (the calls are part of the answer), and nothing when there were none."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from desk.core.response import ResponseResult, Status
from desk.core.tools import ToolCall
from desk.ui.response_pane import ResponsePane


def test_calls_are_shown_with_their_verdict(qtbot):
    pane = ResponsePane("openai/gpt-4o")
    qtbot.addWidget(pane)
    pane.show()
    calls = [ToolCall("get_weather", '{"city":"Paris"}', "call_a"),
             ToolCall("get_time", '{"zone": "CET"}', "call_b", ["unknown argument 'zone'"])]
    pane.finish(ResponseResult(id="r1", trial_id="t1", model="openai/gpt-4o", settings={}, status=Status.OK,
                               text="Checking both.", tool_calls=calls))
    assert pane.tool_calls.isVisible()
    shown = pane.tool_calls.toPlainText()
    assert shown == ('[call 1: get_weather · valid]\n  {\n    "city": "Paris"\n  }\n'
                     "[call 2: get_time · INVALID: unknown argument 'zone']\n  {\n    \"zone\": \"CET\"\n  }")
    pane.set_blind("A")
    assert pane.tool_calls.isVisible()


def test_no_calls_no_list(qtbot):
    pane = ResponsePane("openai/gpt-4o")
    qtbot.addWidget(pane)
    pane.show()
    pane.finish(ResponseResult(id="r1", trial_id="t1", model="openai/gpt-4o", settings={}, status=Status.OK,
                               text="Hi."))
    assert not pane.tool_calls.isVisible()
