"""Tool calls cross from the streaming thread to the window like text: the latest calls of an
answer once per frame, and always ahead of that answer's end (its pane must show them before
it says the answer finished)."""

from __future__ import annotations

from desk.core.response import ResponseResult
from desk.core.tools import ToolCall
from desk.core.trial import GenerationSettings
from desk.engine.handover import Handover


class Seen:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, object]] = []

    def response_started(self, result, at=None):
        self.events.append(("started", result.id, None))

    def text_received(self, result, delta, parts, at=None):
        self.events.append(("text", result.id, delta))

    def tool_calls_received(self, result, calls):
        self.events.append(("calls", result.id, [(c.name, c.arguments) for c in calls]))

    def attempt_finished(self, result, attempt):
        self.events.append(("attempt", result.id, None))

    def response_finished(self, result):
        self.events.append(("finished", result.id, None))


def answer(rid: str) -> ResponseResult:
    return ResponseResult(id=rid, trial_id="t", model="oa/x", settings=GenerationSettings())


def test_the_latest_calls_of_each_answer_cross_once_per_frame():
    hand, a, b = Handover(), answer("a"), answer("b")
    hand.response_started(a)
    hand.tool_calls_received(a, [ToolCall("lookup", '{"ci')])
    hand.tool_calls_received(a, [ToolCall("lookup", '{"city": "Oslo"}')])
    hand.tool_calls_received(b, [ToolCall("sum", "{}")])
    seen = Seen()
    assert hand.drain(seen) == 3
    assert seen.events == [("started", "a", None), ("calls", "a", [("lookup", '{"city": "Oslo"}')]),
                           ("calls", "b", [("sum", "{}")])]
    assert hand.drain(Seen()) == 0  # handed over once


def test_an_answers_calls_go_ahead_of_its_end():
    hand, a = Handover(), answer("a")
    hand.text_received(a, "Let me look.", ["Let me look."])
    hand.tool_calls_received(a, [ToolCall("lookup", '{"city": "Oslo"}')])
    hand.response_finished(a)
    seen = Seen()
    hand.drain(seen)
    assert [e[0] for e in seen.events] == ["text", "calls", "finished"]
