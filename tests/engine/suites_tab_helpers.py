"""What the Suites tab model's tests share: a suite file, model names, and a run cancelled
in a known state (with or without the streaming thread)."""

from __future__ import annotations

import asyncio
import json

import pytest

from desk.engine.engine_thread import EngineThread
from desk.engine.session import Engine
from desk.engine.suite_records import SuiteRunCancelled
from desk.engine.suites_tab import SuitesTab
from tests.engine.conftest import MODELS, answer_then_stall, held, ref, until
from tests.vendor_server import VendorServer

CASES = [
    {"id": "a", "prompt": "case-a: say yes", "expect": "answer", "tags": ["easy"]},
    {"id": "b", "prompt": "case-b: ask me", "expect": "clarify", "tags": ["easy", "hard"]},
    {"id": "c", "prompt": "case-c: anything"},
]
EIGHT = [{"id": f"c{i}", "prompt": f"case-{i}"} for i in range(8)]


def suite_path(tmp_path, cases=CASES):
    path = tmp_path / "three.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    return path


def names(*kinds: str) -> list[str]:
    return [str(ref(k)) for k in kinds]


async def cancel_after_three(engine: Engine, vendor: VendorServer, tmp_path,
                             streams: EngineThread[Engine] | None = None) -> tuple[SuitesTab, SuiteRunCancelled]:
    """Run suite "eight" on openai two at a time and cancel it once three answers are stored
    and two more are held mid-stream: the tab and the run's cancel. The engine wants PATIENT
    timeouts, so that nothing but the cancel ends the held streams."""
    answer_then_stall(vendor, 3, [MODELS["openai"]])
    engine.suites.import_suite(suite_path(tmp_path, EIGHT), "eight")
    tab = SuitesTab(engine, streams)
    tab.load_suites()
    plan = tab.plan_run(tab.suite("eight"), names("openai"), 1, 2)
    tab.begin(plan)
    task = asyncio.ensure_future(tab.run(plan))
    await held(vendor, 5)
    await until(lambda: tab.progress is not None and tab.progress[0] == 3, "three answers")
    task.cancel()
    with pytest.raises(SuiteRunCancelled) as err:
        await task
    return tab, err.value
