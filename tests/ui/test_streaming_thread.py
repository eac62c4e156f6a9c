"""The window streams on a thread of its own (issue 21): the GUI thread parses no SSE, takes
each answer's text once per frame, times nothing, and still cancels, closes mid-stream and
stores the same answers as before."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("PySide6")

from desk.core.records import attempt_fields, response_fields
from desk.core.response import Status
from desk.core.trial import ModelRef, TrialInput
from desk.engine.trials_tab import TrialsTab
from desk.store.db import open_store
from tests.ui.qt_helpers import run_until
from tests.vendor_server import Script

OPENAI, CLAUDE = "openai/gpt-4o-mini", "claude/claude-sonnet-4-5"


def send(window, mw_loop, models, prompt="Stream, please."):
    window.picker.set_checked(set(models))
    window.compose.prompt.setPlainText(prompt)
    window.send()
    run_until(mw_loop, lambda: window._run_task is not None and window._run_task.done(), timeout=30)
    return {p.result.model: p for p in window.grid.panes}


def test_the_gui_thread_parses_no_sse(window, vendor, mw_loop, parsed_on):
    vendor.set_default("gpt-4o-mini", Script(text_pieces=[f"w{i} " for i in range(50)], interval_ms=2))
    vendor.set_default("claude-sonnet-4-5", Script(text_pieces=["Hello", ", ", "claude"]))
    panes = send(window, mw_loop, [OPENAI, CLAUDE])
    assert panes[OPENAI].text() == "".join(f"w{i} " for i in range(50))
    assert panes[CLAUDE].text() == "Hello, claude"
    assert parsed_on, "no SSE was parsed at all"
    gui = threading.get_ident()
    assert gui not in parsed_on
    assert set(parsed_on) == {window.tab.streams.ident}


def test_text_reaches_the_window_once_per_frame_not_once_per_chunk(window, vendor, mw_loop):
    pieces = [f"piece {i}. " for i in range(400)]
    vendor.set_default("gpt-4o-mini", Script(text_pieces=pieces))  # a burst: 400 chunks at once
    deltas: list[str] = []
    window.tab.text_received.connect(lambda result, delta: deltas.append(delta))
    panes = send(window, mw_loop, [OPENAI])
    assert "".join(deltas) == "".join(pieces) == panes[OPENAI].text()
    assert len(deltas) <= 40, f"{len(deltas)} deltas for 400 chunks: not coalesced"


def test_ttft_is_the_wires_even_while_the_gui_thread_is_busy(window, vendor, mw_loop):
    """The first token comes 200 ms after the request while the GUI thread is blocked for a
    second: TTFT (stored, and the pane's live figure) says 200 ms, not the GUI's second."""
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["first", " and more"], first_token_delay_ms=200))
    window.picker.set_checked({OPENAI})
    window.compose.prompt.setPlainText("Time me.")
    window.send()
    run_until(mw_loop, lambda: any(r.model == "gpt-4o-mini" for r in vendor.requests), timeout=10)
    time.sleep(1.0)  # the GUI thread busy (a long layout, a slow disk) across the first token
    run_until(mw_loop, lambda: window._run_task.done(), timeout=30)
    pane = window.grid.panes[0]
    stored = window.engine.store.responses.get(pane.result.id)
    assert stored.status == Status.OK and stored.ttft_ms is not None
    assert stored.ttft_ms < 700, stored.ttft_ms
    figures = window.tab.figures[pane.result.id]
    assert (figures.first_text - figures.started) * 1000 < 700


def test_cancel_from_the_window_stops_the_stream_on_its_thread(window, vendor, mw_loop, parsed_on):
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["first part. "] + ["more "] * 300, interval_ms=50))
    window.picker.set_checked({OPENAI})
    window.compose.prompt.setPlainText("Write a long answer")
    window.send()
    run_until(mw_loop, lambda: window.grid.panes and "first part." in window.grid.panes[0].text())
    window.cancel_button.click()
    run_until(mw_loop, lambda: window._run_task.done())
    assert window.statusBar().currentMessage() == "Cancelled: what arrived is stored"
    pane = window.grid.panes[0]
    stored = window.engine.store.responses.get(pane.result.id)
    assert stored.status == Status.INTERRUPTED and stored.text.startswith("first part.")
    assert pane.text() == stored.text  # every piece that arrived before the cancel is shown
    record = next(r for r in vendor.requests if r.model == "gpt-4o-mini")
    run_until(mw_loop, lambda: record.ended_at is not None, timeout=5)  # the HTTP stream was closed
    assert window.tab.streams.ident not in (None, threading.get_ident())
    assert set(parsed_on) == {window.tab.streams.ident}


def test_closing_the_window_mid_stream_stores_what_arrived_before_it_is_gone(window, vendor, mw_loop, tmp_path):
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["kept part. "] + ["more "] * 300, interval_ms=50))
    window.picker.set_checked({OPENAI})
    window.compose.prompt.setPlainText("Write a long answer")
    window.send()
    run_until(mw_loop, lambda: window.grid.panes and "kept part." in window.grid.panes[0].text())
    response_id = window.grid.panes[0].result.id
    window.close()
    # Read at once, from another connection: the close waited until the answer was stored.
    with open_store(tmp_path / "gui.db") as other:
        stored = other.responses.get(response_id)
    assert stored.status == Status.INTERRUPTED and stored.text.startswith("kept part.")
    assert window.tab.streams.ident is None  # the thread is gone
    run_until(mw_loop, lambda: window._run_task.done())  # the window's side ends quietly too


VOLATILE = {"id", "trial_id", "started_at", "first_token_at", "ended_at", "ttft_ms", "total_ms", "connect_ms",
            "output_tokens_per_s", "vendor_request_id", "wall_ms", "attempts"}
VOLATILE_ATTEMPT = {"started_at", "first_token_at", "ended_at", "ttft_ms", "total_ms", "connect_ms",
                    "vendor_request_id", "ratelimit"}


def comparable(result):
    fields = {k: v for k, v in response_fields(result).items() if k not in VOLATILE}
    fields["attempts"] = [{k: v for k, v in attempt_fields(a).items() if k not in VOLATILE_ATTEMPT}
                          for a in result.attempts]
    return fields


def test_a_streamed_answer_is_stored_as_when_it_streamed_on_the_gui_loop(window, vendor, mw_loop):
    script = Script(text_pieces=["| a | b |\n", "|---|---|\n", "| 1 | 2 |\n"], interval_ms=5,
                    usage={"input_tokens": 30, "output_tokens": 9})
    vendor.set_default("gpt-4o-mini", script)
    vendor.set_default("claude-sonnet-4-5", script)
    models = [ModelRef.parse(OPENAI), ModelRef.parse(CLAUDE)]
    on_the_loop = TrialsTab(window.engine)  # the engine's own loop: how the CLI streams
    plan = on_the_loop.plan(TrialInput("Stream, please."), models)
    on_the_loop.begin(plan)
    before = mw_loop.run_until_complete(on_the_loop.run(plan))
    send(window, mw_loop, [OPENAI, CLAUDE])
    after = window.engine.trials.load(window.current_trial_id)[1]
    stored_before = window.engine.trials.load(before.trial_id)[1]
    by_model = {r.model: comparable(r) for r in stored_before}
    assert {r.model: comparable(r) for r in after} == by_model
    assert by_model[OPENAI]["text"] == "| a | b |\n|---|---|\n| 1 | 2 |\n" and by_model[OPENAI]["cost_usd"]


def test_a_key_replaced_in_the_window_is_the_one_the_streams_send(window, vendor, mw_loop):
    """The streaming thread's engine keeps ready providers too: a key the user replaces in
    Providers… must reach it, or the next send would go out with the old one."""
    vendor.api_key = "sk-test-old-0123456789"
    window.engine.providers.set_provider_key("openai", "sk-test-old-0123456789")
    assert send(window, mw_loop, [OPENAI])[OPENAI].result.status == Status.OK
    vendor.api_key = "sk-test-new-9876543210"
    window.engine.providers.set_provider_key("openai", "sk-test-new-9876543210")
    result = send(window, mw_loop, [OPENAI], prompt="Again.")[OPENAI].result
    assert result.status == Status.OK, result.error_message


def test_run_again_replays_a_reply_through_the_streaming_thread(window, vendor, mw_loop, parsed_on):
    """Run again sends the trial and then each model's later turns, all on the streaming
    thread's engine; the replayed turn lands below its new answer, linked in the store."""
    vendor.enqueue("gpt-4o-mini", Script(text_pieces=["Which one?"]), Script(text_pieces=["Q3."]),
                   Script(text_pieces=["Which one, again?"]), Script(text_pieces=["Q3 again."]))
    first = send(window, mw_loop, [OPENAI], prompt="How did sales do?")[OPENAI]
    window.reply(first.result.id, "The Q3 report.")
    run_until(mw_loop, lambda: first.turn_panes and first.turn_panes[0].is_finished and not window.tab.running)
    old_trial = window.current_trial_id
    window.run_again()
    run_until(mw_loop, lambda: window.current_trial_id not in (None, old_trial) and not window.tab.running, timeout=30)
    (again,) = window.grid.panes
    run_until(mw_loop, lambda: again.turn_panes and again.turn_panes[0].is_finished)
    assert (again.text(), again.turn_panes[0].text()) == ("Which one, again?", "Q3 again.")
    links = window.engine.conversations.turns.for_trial(window.current_trial_id)
    assert [(link.turn, link.reply) for link in links] == [(2, "The Q3 report.")]
    assert set(parsed_on) == {window.tab.streams.ident}
