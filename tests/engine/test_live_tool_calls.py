"""Tool calls reach a view while they stream (issue 17): after each piece the sink gets
the calls so far, the name as soon as the vendor says it and the arguments growing, on all
four protocols; the first tool-call byte is the answer's first token."""

from __future__ import annotations

import asyncio
import json

import pytest

from desk.core.response import Status
from desk.engine.trials_tab import TrialsTab
from tests.engine.conftest import KINDS, engine_for, ref, script_for
from tests.providers.test_tool_calls import STREAMS, TIME, TRIAL, WEATHER
from tests.vendor_server import Script


class CallsSink:
    def __init__(self) -> None:
        self.seen: list[list[tuple[str, str]]] = []

    def response_started(self, result) -> None:
        pass

    def text_received(self, result, delta, parts) -> None:
        pass

    def tool_calls_received(self, result, calls) -> None:
        self.seen.append([(c.name, c.arguments) for c in calls])

    def attempt_finished(self, result, attempt) -> None:
        pass

    def response_finished(self, result) -> None:
        pass


def _run(providers, kind, sink):
    async def go():
        async with engine_for(providers) as engine:
            return (await engine.trials.run(TRIAL, [ref(kind)], sink=sink)).responses[0]

    return asyncio.run(go())


@pytest.mark.parametrize("kind", KINDS)
def test_the_calls_so_far_reach_the_view_piece_by_piece(kind, providers, vendor):
    script_for(vendor, kind, Script(replay=STREAMS[kind](WEATHER, TIME)))
    sink = CallsSink()
    r = _run(providers, kind, sink)
    assert r.status == Status.OK, r.error_message
    final = [(c.name, json.loads(c.arguments)) for c in r.tool_calls]
    assert [(n, json.loads(a)) for n, a in sink.seen[-1]] == final  # the last delivery is the whole
    if kind in ("openai", "anthropic"):  # argument deltas: the view watches them grow
        assert sink.seen[0] == [("get_weather", "")]  # the name before any argument byte
        growing = [s[0][1] for s in sink.seen if len(s) == 1]
        assert growing == ["", '{"ci', '{"city": "Pa', '{"city": "Paris", "un', '{"city": "Paris", "unit": "C"}']
        assert sink.seen[len(growing)] == [("get_weather", '{"city": "Paris", "unit": "C"}'), ("get_time", "")]
    else:  # whole calls, one part each
        assert [len(s) for s in sink.seen] == [1, 2]


def test_the_trials_tab_counts_the_first_call_byte_as_the_first_token(providers, vendor):
    script_for(vendor, "openai", Script(replay=STREAMS["openai"](WEATHER, TIME), first_token_delay_ms=50))
    seen: list[str] = []

    async def go():
        async with engine_for(providers) as engine:
            tab = TrialsTab(engine)
            tab.tool_calls_received.connect(lambda result, calls: seen.append(tab.figures[result.id].status()))
            plan = tab.plan(TRIAL, [ref("openai")])
            tab.begin(plan)
            return await tab.run(plan)

    outcome = asyncio.run(go())
    assert outcome.responses[0].status == Status.OK
    assert seen[0].startswith("streaming · 1 tool call · TTFT ") and " ms · " in seen[0], seen[0]
    assert seen[-1].startswith("streaming · 2 tool calls · TTFT "), seen[-1]
