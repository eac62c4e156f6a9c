"""Tool calls are shown while they stream (issue 17): each pane names a call as soon as the
vendor says its name and shows its arguments as they grow, with the time to the first
tool-call byte, then desk's verdict once the answer ends; a structured-output answer
says whether it parsed and validated, and where it failed."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from desk.core.response import ResponseResult, Status
from tests.vendor_server import Script


def test_two_models_calls_grow_in_their_panes_while_streaming(window, vendor, mw_loop):
    from tests.providers.test_tool_calls import TIME, TOOLS, WEATHER, anthropic_stream, openai_stream
    from tests.ui.qt_helpers import run_until

    # Each stream stops halfway through its first call's arguments, until the trial is cancelled.
    vendor.set_default("gpt-4o-mini", Script(replay=openai_stream(WEATHER, TIME), stall_after_pieces=4))
    vendor.set_default("claude-sonnet-4-5", Script(replay=anthropic_stream(WEATHER, TIME), stall_after_pieces=6))
    window.picker.set_checked({"openai/gpt-4o-mini", "claude/claude-sonnet-4-5"})
    window.compose.prompt.setPlainText("Weather and time in Paris?")
    window.compose.tools.text.setPlainText(TOOLS.as_json())
    window.send()

    def shown() -> dict[str, str]:
        return {p.result.model: p.tool_calls.toPlainText() for p in window.grid.panes if p.tool_calls.isVisible()}

    run_until(mw_loop, lambda: shown() == {
        "openai/gpt-4o-mini": '[call 1: get_weather · arguments arriving]\n  {"city": "Pa',
        "claude/claude-sonnet-4-5": '[call 1: get_weather · arguments arriving]\n  {"ci'})
    assert window.tab.running and not any(p.is_finished for p in window.grid.panes)
    window._tick_panes()
    for pane in window.grid.panes:
        said = pane.status.text()
        assert said.startswith("streaming · ") and "1 tool call · TTFT " in said, said
    window.cancel()
    run_until(mw_loop, lambda: not window.tab.running)


def test_a_finished_answer_replaces_the_live_calls_with_the_checked_ones(window, vendor, mw_loop):
    from tests.providers.test_tool_calls import TIME, TOOLS, WEATHER, openai_stream
    from tests.ui.qt_helpers import run_until

    vendor.set_default("gpt-4o-mini", Script(replay=openai_stream(WEATHER, TIME)))
    window.picker.set_checked({"openai/gpt-4o-mini"})
    window.compose.prompt.setPlainText("Weather and time in Paris?")
    window.compose.tools.text.setPlainText(TOOLS.as_json())
    window.send()
    run_until(mw_loop, lambda: bool(window.grid.panes) and window.grid.panes[0].is_finished)
    text = window.grid.panes[0].tool_calls.toPlainText()
    assert "arriving" not in text and "[call 2: get_time · valid]" in text


def _answer(text: str, schema: dict | None, status: Status = Status.OK) -> ResponseResult:
    settings = {"temperature": None} | ({"response_schema": schema} if schema else {})
    return ResponseResult(id="r1", trial_id="t1", model="openai/gpt-4o", settings=settings, status=status, text=text)


SCHEMA = {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}


def test_the_pane_says_whether_a_structured_answer_parsed_and_validated(qtbot):
    from desk.ui.response_pane import ResponsePane

    pane = ResponsePane("openai/gpt-4o")
    qtbot.addWidget(pane)
    pane.show()
    pane.finish(_answer('{"city": 7}', SCHEMA))
    assert pane.structured.isVisible()
    assert pane.structured.text() == "structured output: parsed, INVALID at answer.city: 7 is not of type 'string'"
    pane.set_blind("A")  # the answer's shape is part of the answer: shown blind too
    assert pane.structured.isVisible()
    pane.finish(_answer("Oslo, I think.", SCHEMA))
    assert pane.structured.text().startswith("structured output: NOT JSON (Expecting value")
    pane.finish(_answer('{"city": "Oslo"}', SCHEMA))
    assert pane.structured.text() == "structured output: parsed, valid against the schema"
    pane.finish(_answer('{"city": "Oslo"}', None))
    assert not pane.structured.isVisible()  # free text asked: no verdict


def test_the_window_asks_for_a_schema_and_each_pane_gives_its_verdict(window, vendor, mw_loop):
    import json

    from tests.ui.qt_helpers import run_until

    vendor.set_default("gpt-4o-mini", Script(text_pieces=['{"city": ', "7}"]))
    vendor.set_default("claude-sonnet-4-5", Script(text_pieces=['{"city": "Oslo"}']))
    window.picker.set_checked({"openai/gpt-4o-mini", "claude/claude-sonnet-4-5"})
    window.compose.prompt.setPlainText("Which city?")
    window.compose.schema_toggle.setChecked(True)
    window.compose.schema.text.setPlainText(json.dumps(SCHEMA))
    window.send()
    run_until(mw_loop, lambda: len(window.grid.panes) == 2 and all(p.is_finished for p in window.grid.panes)
              and not window.tab.running)
    said = {p.result.model: p.structured.text() for p in window.grid.panes if p.structured.isVisible()}
    assert said == {"openai/gpt-4o-mini": "structured output: parsed, INVALID at answer.city: 7 is not of type 'string'",
                    "claude/claude-sonnet-4-5": "structured output: parsed, valid against the schema"}
    sent = {r.protocol: r.json for r in vendor.requests if r.method == "POST"}
    assert sent["openai"]["response_format"]["json_schema"]["schema"] == SCHEMA
    assert sent["anthropic"]["tool_choice"]["type"] == "tool"
    trial_id = window.current_trial_id
    window.new_trial()
    assert window.compose.schema.schema_text() == "" and not window.compose.schema.isVisible()
    window.open_trial(trial_id)  # a reopened trial shows the schema it asked for, and the verdicts
    assert json.loads(window.compose.schema.schema_text()) == SCHEMA and window.compose.schema.isVisible()
    reopened = sorted(p.structured.text() for p in window.grid.panes if not p.structured.isHidden())
    assert reopened == sorted(said.values())


def test_an_unusable_schema_is_said_and_nothing_is_sent(window, vendor):
    window.picker.set_checked({"openai/gpt-4o-mini"})
    window.compose.prompt.setPlainText("x")
    window.compose.schema.text.setPlainText('{"type": "banana"}')
    window.send()
    assert window.banner.isVisible() and "Answer schema: " in window.banner.label.text()
    assert not vendor.requests
