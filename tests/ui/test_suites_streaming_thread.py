"""Suite runs and judge runs stream on the window's streaming thread, as trials do (issue 21):
the GUI thread parses no SSE during them, and Cancel and closing the window mid-run stop
the work over there and wait until what arrived is stored."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

pytest.importorskip("PySide6")

from desk.core.response import Status
from desk.engine.session import Engine
from desk.store.db import open_store
from tests.ui.test_suites_view import MODELS, script, start_run, until
from tests.vendor_server import Script

LONG = ["part one. "] + ["more "] * 300  # 15 s at 50 ms a piece: still streaming when cancelled
FULL = "".join(LONG)


def claude_requests(requests):
    return [r for r in requests if r.model == "claude-sonnet-4-5"]


def slow_claude(vendor):
    script(vendor)
    vendor.set_default("claude-sonnet-4-5", Script(text_pieces=LONG, interval_ms=50))


def test_a_suite_run_and_its_judging_parse_no_sse_on_the_gui_thread(window, vendor, mw_loop, tmp_path, parsed_on):
    script(vendor)
    panel = start_run(window, tmp_path)
    mw_loop.run_until_complete(until(lambda: not panel.running, timeout=30))
    assert panel.progress_label.text() == "18 / 18 done"
    assert parsed_on, "no SSE was parsed at all"
    streams = window.tab.streams.ident
    assert streams not in (None, threading.get_ident())
    assert set(parsed_on) == {streams}
    assert all(c.status == "ok" for c in window.engine.suites.matrix(panel.current_run_id).cells)

    parsed_on.clear()
    vendor.set_default("judge", Script(text_pieces=[json.dumps({
        "outcome": "success", "uncertainty": "confident_correct", "constraints": "na", "quality": 4,
        "rationale": "Fine."})]))
    assert mw_loop.run_until_complete(panel.judge.start("openai/judge")) is True
    assert "18 verdicts" in panel.message.text()
    assert len(window.engine.store.verdicts.list("judge:openai/judge")) == 18
    assert parsed_on and set(parsed_on) == {window.tab.streams.ident}


def test_judging_the_open_trial_parses_no_sse_on_the_gui_thread(window, vendor, mw_loop, parsed_on):
    from desk.core.trial import ModelRef, TrialInput

    script(vendor)
    outcome = mw_loop.run_until_complete(window.engine.trials.run(
        TrialInput("What is 2 + 2?"), [ModelRef("local", "llama3.2")]))  # NDJSON: no SSE parsed here
    window.open_trial(outcome.trial_id)
    vendor.set_default("judge", Script(text_pieces=[json.dumps({
        "outcome": "success", "uncertainty": "confident_correct", "constraints": "na", "quality": 4,
        "rationale": "Fine."})]))
    assert mw_loop.run_until_complete(window.trial_judge.start("openai/judge")) is True
    assert parsed_on and set(parsed_on) == {window.tab.streams.ident}


def test_cancel_mid_run_stops_it_on_the_streaming_thread_and_stores_what_arrived(window, vendor, mw_loop, tmp_path,
                                                                                  parsed_on):
    slow_claude(vendor)
    panel = start_run(window, tmp_path)

    async def cancel_mid_run():
        await until(lambda: panel.tab.progress is not None and panel.tab.progress[0] >= 4, timeout=20)
        # An answer is stored before it is sent: cancel once all four slots hold a Claude request
        # at the vendor (15 s each), so none is stored and not yet sent, and the first one streams.
        await asyncio.to_thread(vendor.wait_for, lambda requests: len(claude_requests(requests)) == 4
                                and claude_requests(requests)[0].first_token_written_at is not None)
        panel.cancel_button.click()
        await until(lambda: not panel.running, timeout=20)

    mw_loop.run_until_complete(cancel_mid_run())
    run_id = panel.current_run_id
    cells = window.engine.suites.matrix(run_id).cells
    ok = [c for c in cells if c.status == "ok"]
    # the run's own cancel, carrying what was done, crossed back from the streaming thread
    assert panel.message.text().startswith(f"Cancelled. {len(ok)} new answers were stored.")
    assert panel.run_info(run_id).status == "interrupted"
    claude = claude_requests(vendor.requests)
    assert len(claude) == 4
    stored = [window.engine.store.responses.get(c.response_id) for c in cells
              if c.model == MODELS[1] and c.response_id is not None]
    assert claude and len(stored) == len(claude)  # every answer that was sent is stored
    assert all(r.status == Status.INTERRUPTED and FULL.startswith(r.text) for r in stored)
    assert any(r.text.startswith("part one.") for r in stored)
    assert not any(c.status == "streaming" for c in cells)
    mw_loop.run_until_complete(until(lambda: all(r.ended_at is not None for r in claude), timeout=5))
    assert set(parsed_on) == {window.tab.streams.ident}


def test_closing_the_window_mid_run_stores_what_arrived_before_it_is_gone(window, vendor, mw_loop, tmp_path):
    slow_claude(vendor)
    panel = start_run(window, tmp_path)
    mw_loop.run_until_complete(until(lambda: panel.tab.progress is not None and panel.tab.progress[0] >= 4,
                                     timeout=20))
    run_id = panel.current_run_id
    window.close()
    # Read at once, from another connection: the close waited until the run was stored.
    with open_store(tmp_path / "gui.db") as other:
        engine = Engine(other)  # nothing sent: its HTTP client is never opened
        assert next(r for r in engine.suites.list_runs() if r.run_id == run_id).status == "interrupted"
        cells = engine.suites.matrix(run_id).cells
        claude = [other.responses.get(c.response_id) for c in cells
                  if c.model == MODELS[1] and c.response_id is not None]
        assert not any(c.status == "streaming" for c in cells)
    assert claude and all(r.status == Status.INTERRUPTED and FULL.startswith(r.text) for r in claude)
    assert window.tab.streams.ident is None  # the thread is gone
    mw_loop.run_until_complete(until(lambda: not panel.running, timeout=10))  # the window's side ends quietly
