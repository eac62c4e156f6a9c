"""A pane lists the tools its model called, with desk's verdict on each, above the text;
blind too (the calls are part of the answer), and nothing when there were none."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from desk.core.response import ResponseResult, Status
from desk.core.tools import ToolCall
from desk.ui.response_pane import ResponsePane
from tests.vendor_server import Script


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
    assert "tool calls: 2, 1 flagged · ids: call_a, call_b" in pane.details_text()
    pane.set_blind("A")
    assert pane.tool_calls.isVisible()


def test_no_calls_no_list(qtbot):
    pane = ResponsePane("openai/gpt-4o")
    qtbot.addWidget(pane)
    pane.show()
    pane.finish(ResponseResult(id="r1", trial_id="t1", model="openai/gpt-4o", settings={}, status=Status.OK,
                               text="Hi."))
    assert not pane.tool_calls.isVisible()


def test_the_window_sends_tools_and_shows_two_models_calls_side_by_side(window, vendor, mw_loop):
    from tests.providers.test_tool_calls import TIME, TOOLS, WEATHER, anthropic_stream, openai_stream
    from tests.ui.qt_helpers import run_until

    vendor.set_default("gpt-4o-mini", Script(replay=openai_stream(WEATHER, ['{"tz": 5}'])))
    vendor.set_default("claude-sonnet-4-5", Script(replay=anthropic_stream(WEATHER, TIME)))
    window.picker.set_checked({"openai/gpt-4o-mini", "claude/claude-sonnet-4-5"})
    window.compose.prompt.setPlainText("Weather and time in Paris?")
    window.compose.tools.text.setPlainText(TOOLS.as_json())
    window.compose.tools.choice.setCurrentText("required")
    window.send()
    run_until(mw_loop, lambda: len(window.grid.panes) == 2 and all(p.is_finished for p in window.grid.panes))
    shown = {p.result.model: p.tool_calls.toPlainText() for p in window.grid.panes}
    assert "[call 2: get_time · INVALID: arguments.tz: 5 is not of type 'string']" in shown["openai/gpt-4o-mini"]
    assert "[call 2: get_time · valid]" in shown["claude/claude-sonnet-4-5"]
    choices = {r.protocol: r.json["tool_choice"] for r in vendor.requests if r.method == "POST"}
    assert choices == {"openai": "required", "anthropic": {"type": "any"}}
    run_until(mw_loop, lambda: not window.tab.running)
    trial_id = window.current_trial_id
    window.new_trial()
    assert window.compose.tools.tools_text() == ""
    window.open_trial(trial_id)  # a reopened trial shows what it offered
    assert not window.banner.isVisible(), window.banner.label.text()
    assert "get_weather" in window.compose.tools.tools_text() and window.compose.tools.tool_choice() == "required"


def test_unusable_tools_are_said_and_nothing_is_sent(window, vendor):
    window.picker.set_checked({"openai/gpt-4o-mini"})
    window.compose.prompt.setPlainText("x")
    window.compose.tools.text.setPlainText("[{")
    window.send()
    assert window.banner.isVisible() and "Tools: the tools are not valid JSON" in window.banner.label.text()
    assert not vendor.requests


def test_give_results_in_the_window_continues_the_answer(window, vendor, mw_loop):
    from tests.providers.test_tool_calls import TIME, TOOLS, WEATHER
    from tests.ui.qt_helpers import run_until

    vendor.set_default("gpt-4o-mini", Script(tool_calls=[("get_weather", WEATHER), ("get_time", TIME)]))
    window.picker.set_checked({"openai/gpt-4o-mini"})
    window.compose.prompt.setPlainText("Weather and time in Paris?")
    window.compose.tools.text.setPlainText(TOOLS.as_json())
    window.send()
    run_until(mw_loop, lambda: bool(window.grid.panes) and window.grid.panes[0].is_finished
              and not window.tab.running)
    pane = window.grid.panes[0]
    assert pane.give_results_button.isVisible()
    first_trial = window.current_trial_id
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["14 °C, 16:05."]))
    window.give_results(pane.result, ['{"temp_c": 14}', "16:05"])
    run_until(mw_loop, lambda: not window.tab.running and bool(window.grid.panes)
              and window.grid.panes[0].is_finished)
    assert window.grid.panes[0].text() == "14 °C, 16:05."
    sent = vendor.requests[-1].json["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool"]
    assert [m["content"] for m in sent[2:]] == ['{"temp_c": 14}', "16:05"]
    stored = window.engine.trials.load(window.current_trial_id)[0]
    assert stored.parent_trial_id == first_trial and len(stored.input.tool_rounds) == 1
    window.give_results(window.grid.panes[0].result, [])  # an answer without calls: nothing happens
    assert not window.tab.running
