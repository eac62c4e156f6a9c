"""A load run's answer that only calls a tool has a first token too: the first byte of the
call, as a trial's TTFT counts it (it had none, which left such models out of the TTFT
percentiles of a load run)."""

from __future__ import annotations

from desk.core.load import LoadStep
from desk.core.trial import ModelRef, TrialInput
from tests.engine.test_load import plan, run
from tests.vendor_server import Script

TOOL = ModelRef("openai", "tool-only")


def test_a_tool_call_only_answer_has_a_request_ttft_and_inter_token_gaps(providers, vendor):
    pieces = ['{"city": ', '"Oslo"', "}"]
    vendor.set_default("tool-only", Script(tool_calls=[("get_weather", pieces)], first_token_delay_ms=60,
                                           interval_ms=5))
    result = run(providers, plan(models=(TOOL,), inputs=(TrialInput("weather in Oslo?"),), steps=(LoadStep(2, 4),)))
    assert [o.status for o in result.outcomes] == ["ok"] * 4
    for o in result.outcomes:
        assert o.request_ttft_ms is not None and o.request_ttft_ms >= 60
        assert o.request_ttft_ms <= o.total_ms and len(o.itl_ms) >= 1
    summary = result.summary["models"]["openai/tool-only"]
    assert summary["ttft_ms"]["n"] == 4
