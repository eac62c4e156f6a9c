"""Tool calls are exported on all four protocols (issue 17, Done when): two parallel calls,
one with malformed arguments, assembled from the vendor's stream, stored, checked, and in
the rated-answers export with desk's verdict beside the arguments exactly as sent."""

from __future__ import annotations

import asyncio
import json

import pytest

from desk.engine.services.exports import ExportParams
from desk.engine.session import Engine
from tests.engine.conftest import KINDS, run_one, script_for
from tests.providers.test_tool_calls import TIME, TRIAL
from tests.vendor_server import Script

BROKEN = ['{"city": ', '"Paris"']  # never closed: not JSON


@pytest.mark.parametrize("kind", KINDS)
def test_calls_are_exported_with_their_verdicts(kind, providers, vendor, tmp_path):
    script_for(vendor, kind, Script(tool_calls=[("get_weather", BROKEN), ("get_time", TIME)]))
    _, r = run_one(providers, kind, TRIAL)
    providers.ratings.save(r.id, "ann", {"outcome": "failure", "uncertainty": "confident_correct",
                                         "constraints": "na", "quality": 2})
    out = tmp_path / "out.jsonl"
    engine = Engine(providers)
    engine.exports.export(ExportParams("jsonl", str(out)))
    asyncio.run(engine.aclose())
    (line,) = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    calls = line["response"]["tool_calls"]
    assert [c["name"] for c in calls] == ["get_weather", "get_time"]
    assert calls[0]["arguments"] == "".join(BROKEN) and "not valid JSON" in calls[0]["problems"][0]
    assert json.loads(calls[1]["arguments"]) == {"tz": "Europe/Paris"} and calls[1]["problems"] == []
    offered = json.loads(line["trial"]["tools"])
    assert [t["function"]["name"] for t in offered["tools"]] == ["get_weather", "get_time"]
