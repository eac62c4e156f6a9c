"""The Suites tab's model with a streaming thread (issue 21), without a window: the run is
sent from the thread's engine, every callback is told on the caller's thread, and a cancel
there comes back as the run's own cancel carrying what was stored."""

from __future__ import annotations

import asyncio
import threading

from desk.engine.engine_thread import EngineThread
from desk.engine.suite_records import SuiteRunCancelled
from desk.engine.suites_tab import SuitesTab
from tests.engine.conftest import PATIENT, engine_for
from tests.engine.suites_tab_helpers import cancel_after_three, names, suite_path


def test_a_run_streams_on_the_thread_and_tells_its_callbacks_here(providers, vendor, tmp_path, parsed_on):
    told_on: set[int] = set()

    async def go():
        async with engine_for(providers) as engine:
            streams = EngineThread(lambda: engine.elsewhere())
            engine.suites.import_suite(suite_path(tmp_path), "three")
            tab = SuitesTab(engine, streams)
            for event in (tab.run_started, tab.changed):
                event.connect(lambda *_: told_on.add(threading.get_ident()))
            tab.load_suites()
            plan = tab.plan_run(tab.suite("three"), names("openai", "anthropic"), 1, 3)
            tab.begin(plan)
            try:
                return tab, await tab.run(plan), streams.ident
            finally:
                streams.close()

    tab, result, thread = asyncio.run(go())
    here = threading.get_ident()
    assert result.ok == 6 and tab.progress == (6, 6) and tab.current_run_id == result.run_id
    assert told_on == {here}
    assert parsed_on and set(parsed_on) == {thread} and thread != here


def test_a_cancel_stops_the_run_there_and_carries_what_was_stored(providers, vendor, tmp_path):
    async def go():
        async with engine_for(providers, timeouts=PATIENT) as engine:
            streams = EngineThread(lambda: engine.elsewhere())
            try:
                tab, cancel = await cancel_after_three(engine, vendor, tmp_path, streams)
            finally:
                streams.close()
            tab.load_runs()
            return tab, cancel.result

    tab, cancelled = asyncio.run(go())
    info = tab.run_info(cancelled.run_id)
    assert cancelled.ok == 3 and info.done == cancelled.ok and info.status == "interrupted"
    assert tab.cancelled(SuiteRunCancelled(cancelled)).text.startswith(f"Cancelled. {cancelled.ok} new answers")
