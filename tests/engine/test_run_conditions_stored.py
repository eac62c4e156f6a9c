"""A suite run records the machine it was sent from, each sending of it (a resume is one
more), and compare says when two runs' machines differ enough to speak in their latencies."""

from __future__ import annotations

import asyncio
import json
import os

from desk.engine.session import Engine
from desk.store.db import Store
from tests.engine.conftest import MODELS, engine_for, ref
from tests.vendor_server import Script, VendorServer

CASES = 4


def _suite(tmp_path) -> str:
    path = tmp_path / "weekly.jsonl"
    path.write_text("".join(json.dumps({"id": f"c{i}", "prompt": f"Task {i}"}) + "\n" for i in range(CASES)))
    return str(path)


async def _run(engine: Engine, vendor: VendorServer) -> str:
    vendor.enqueue(MODELS["openai"], *[Script(text_pieces=["Done."]) for _ in range(CASES)])
    return (await engine.suites.run("weekly", [ref("openai")], concurrency=2, max_turns=1)).run_id


def test_a_run_stores_this_machine_and_compare_names_a_busier_one(providers: Store, vendor, tmp_path):
    async def go() -> None:
        async with engine_for(providers) as engine:
            engine.suites.import_suite(_suite(tmp_path), "weekly")
            run_a, run_b = await _run(engine, vendor), await _run(engine, vendor)
            (leg,) = engine.suites.run_info(run_a).conditions
            assert leg.cpus == (os.cpu_count() or 1) and leg.host
            if hasattr(os, "getloadavg"):
                assert leg.load_start is not None and leg.load_end is not None
            assert engine.suites.run_info(run_a).as_json()["conditions"] == [leg.as_json()]

            quiet = [{**leg.as_json(), "load_start": 0.0, "load_end": 0.1}]
            busy = [{**leg.as_json(), "load_start": 4.0 * leg.cpus, "load_end": 4.0 * leg.cpus}]
            for run_id, legs in ((run_a, quiet), (run_b, busy)):
                providers.runs.finish(run_id, "done", {**providers.runs.get(run_id).summary, "conditions": legs})
            warnings = engine.suites.compare_runs(run_a, run_b).warnings
            assert any("run B's machine was busier (load 4.00 per core against 0.05)" in w for w in warnings)

            providers.runs.finish(run_b, "done", {**providers.runs.get(run_b).summary, "conditions": quiet})
            assert not any("machine" in w for w in engine.suites.compare_runs(run_a, run_b).warnings)

    asyncio.run(go())


def test_a_resumed_run_keeps_the_first_sending_and_adds_its_own(providers: Store, vendor, tmp_path):
    async def go() -> None:
        async with engine_for(providers) as engine:
            engine.suites.import_suite(_suite(tmp_path), "weekly")
            vendor.enqueue(MODELS["openai"], *[Script(text_pieces=["Done."]) for _ in range(CASES - 1)],
                           Script(status=400))
            run = await engine.suites.run("weekly", [ref("openai")], concurrency=1, max_turns=1)
            first = engine.suites.run_info(run.run_id).conditions
            assert len(first) == 1 and run.failed == 1
            vendor.reset()
            vendor.enqueue(MODELS["openai"], Script(text_pieces=["Done."]))
            await engine.suites.resume(run.run_id)
            legs = engine.suites.run_info(run.run_id).conditions
            assert len(legs) == 2 and legs[0] == first[0]

    asyncio.run(go())
