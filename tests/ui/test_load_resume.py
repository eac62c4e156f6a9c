"""A load run cut short (cancelled, a worker lost, desk killed) offers Resume in the Load
tab: what `desk load --resume RUN_ID` does, on the load thread, with progress and Cancel."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt

from desk.engine.load_tab import CLUSTER, HERE, PROCESSES
from tests.engine.conftest import STALL, answer_then_stall
from tests.ui.qt_helpers import run_until
from tests.ui.test_load_view import OPENAI, fill, start
from tests.ui.test_load_where import choose
from tests.vendor_server import Script


def cut_short(panel, qtbot, mw_loop, vendor, requests: int, after: int) -> str:
    """Start a run from the form and cancel it once `after` requests have come back and both
    streams' next requests are held at the vendor (stalled: the run can neither end first nor
    have a request on its way there when the test counts what was sent); its id."""
    answer_then_stall(vendor, after + 1, ["gpt-4o-mini"])  # the warm-up, `after` answers, then stalls
    fill(panel, qtbot, {OPENAI}, requests=requests, concurrency=2)
    finished = start(panel, qtbot)
    run_until(mw_loop, lambda: len(panel.outcomes) >= after
              and sum(r.script is STALL for r in vendor.requests) == 2, timeout=15)
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    run_until(mw_loop, lambda: finished, timeout=15)
    return finished[0]


def ended(window, run_id: str) -> int:
    return sum(o.status != "interrupted" for o in window.engine.loads.runs.requests(run_id))


def test_a_cancelled_run_resumes_into_itself_with_progress(window, qtbot, vendor, mw_loop):
    panel = window.load_panel
    run_id = cut_short(panel, qtbot, mw_loop, vendor, requests=30, after=4)
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["a"], first_token_delay_ms=60))
    assert panel.resume_button.isEnabled()  # just cancelled: it can go on
    before = ended(window, run_id)
    assert before == 4
    sent_before = len(vendor.requests)
    progressed: list[tuple[int, int]] = []
    panel.model.progressed.connect(lambda done, planned: progressed.append((done, planned)))
    finished: list[str] = []
    panel.run_finished.connect(finished.append)

    choose(panel, PROCESSES, 2)  # the rest from two worker processes (desk load --resume ID --workers 2)
    qtbot.mouseClick(panel.resume_button, Qt.MouseButton.LeftButton)
    assert panel.running and panel.cancel_button.isEnabled()
    assert not panel.start_button.isEnabled() and not panel.resume_button.isEnabled()
    run_until(mw_loop, lambda: finished, timeout=30)

    assert finished == [run_id]  # into the same run, no new one
    assert [r.id for r in window.engine.loads.runs.list("load")] == [run_id]
    run = window.engine.loads.runs.get(run_id)
    assert run.status == "done" and run.summary["models"][OPENAI]["ok"] == 30
    assert [r["requests"] for r in run.summary["resumed"]] == [30 - before]
    assert len(vendor.requests) - sent_before == 30 - before + 2  # what was missing, and each worker's warm-up
    assert progressed and progressed[-1] == (30 - before, 30 - before)  # the resumed part, as it came
    # the whole run is shown again: its earlier requests with the resumed ones
    stored = window.engine.loads.runs.requests(run_id)  # (with those the cancel cut in flight)
    assert panel.current_run_id == run_id and panel.summary_cell(OPENAI, "Requests") == str(len(stored))
    assert len(panel.outcomes) == len(stored) and panel.summary_cell(OPENAI, "OK") == "30"
    assert "whole run" in panel.status.text()
    assert not panel.resume_button.isEnabled() and "nothing to resume" in panel.resume_button.toolTip()


def test_a_resumed_run_can_be_cancelled_and_resumed_again_from_the_runs_list(window, qtbot, vendor, mw_loop):
    panel = window.load_panel
    panel.where_row.set_placement(HERE, 1, "")
    run_id = cut_short(panel, qtbot, mw_loop, vendor, requests=200, after=2)
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["a"], first_token_delay_ms=100))
    # opened again from the past runs (as after a restart): Resume offered, Where as the run was sent
    panel.where_row.set_placement(CLUSTER, 3, "auto")
    assert panel.open_run(run_id)
    assert panel.resume_button.isEnabled()
    assert panel.where_row.choice.currentData() == HERE and panel.model.placement() == (1, "")
    before = ended(window, run_id)
    finished: list[str] = []
    panel.run_finished.connect(finished.append)
    assert panel.resume()
    run_until(mw_loop, lambda: len(panel.outcomes) >= 2, timeout=15)
    assert 0 < panel.progress.value() < panel.progress.maximum() == 200 - before
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    run_until(mw_loop, lambda: finished, timeout=15)
    assert finished == [run_id] and window.engine.loads.runs.get(run_id).status == "cancelled"
    assert before + 2 <= ended(window, run_id) < 200
    assert "stored" in panel.message.text() and panel.resume_button.isEnabled()  # still cut short


def test_a_finished_run_offers_no_resume(window, qtbot, vendor, mw_loop):
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["a"]))
    panel = window.load_panel
    fill(panel, qtbot, {OPENAI}, requests=3, concurrency=2)
    finished = start(panel, qtbot)
    assert not panel.resume_button.isEnabled()  # not while running
    run_until(mw_loop, lambda: finished, timeout=15)
    assert not panel.resume_button.isEnabled()
    assert panel.open_run(finished[0]) and not panel.resume_button.isEnabled()
    assert not panel.resume() and "nothing to resume" in panel.message.text()
