"""The Load form's "Where": a run from this process, from N worker processes (drawn as it
goes: the workers hand their requests over during the step) or from a Ray cluster, through
the plan builder `desk load` uses."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("PySide6")

from desk.engine.load_tab import CLUSTER, HERE, PROCESSES
from tests.ui.qt_helpers import run_until
from tests.ui.test_load_view import OPENAI, fill, start
from tests.vendor_server import Script


def choose(panel, where: str, workers: int = 0, address: str = "") -> None:
    row = panel.where_row
    row.choice.setCurrentIndex(row.choice.findData(where))
    row.workers.setValue(workers)
    if address:
        row.address.setText(address)


def test_the_where_row_starts_as_desk_load_does_and_shows_what_each_choice_needs(window, qtbot):
    panel = window.load_panel
    window.tabs.setCurrentWidget(panel)
    row = panel.where_row
    assert row.choice.currentData() == PROCESSES and row.workers.value() == 0  # auto, as without --workers
    assert row.workers.text().startswith("auto") and not row.address.isVisible()
    choose(panel, HERE)
    assert not row.workers.isEnabled() and not row.address.isVisible()
    choose(panel, CLUSTER, 3)
    assert row.workers.isEnabled() and row.address.isVisible()
    fill(panel, qtbot, {OPENAI}, requests=5)
    choose(panel, CLUSTER, 3)
    assert not panel.start() and "Ray cluster: give its address" in panel.message.text()
    assert window.engine.loads.runs.list("load") == []
    row.address.setText("ray://head:10001")
    plan = panel.model.build_plan()
    assert (plan.cluster, plan.workers) == ("ray://head:10001", 3)


def test_two_worker_processes_are_drawn_while_the_step_runs(window, qtbot, vendor, mw_loop):
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["a"], first_token_delay_ms=80))
    panel = window.load_panel
    fill(panel, qtbot, {OPENAI}, requests=60, concurrency=4)
    choose(panel, PROCESSES, 2)
    during: list[tuple[int, int, int]] = []  # while running: progress value, its maximum, points plotted

    def look() -> bool:
        if panel.running:
            points = sum(len(s.data) for s in panel.charts._ok_scatter.values())
            during.append((panel.progress.value(), panel.progress.maximum(), points))
        return bool(finished)

    finished = start(panel, qtbot)
    run_until(mw_loop, look, timeout=90)
    run = window.engine.loads.runs.get(finished[0])
    assert run.status == "done" and run.spec["workers"] == 2
    assert panel.summary_cell(OPENAI, "Requests") == "60"
    # part of the run on the bar and on the plot while it was still running, not only at its end
    assert any(0 < value < 60 == top for value, top, _ in during), during[-5:]
    assert any(0 < points < 60 for _, _, points in during), during[-5:]


def test_a_cluster_without_ray_says_how_to_install_it_and_runs_nothing(window, qtbot, vendor, mw_loop, tmp_path,
                                                                       monkeypatch):
    fake = tmp_path / "no_ray"
    fake.mkdir()
    (fake / "ray.py").write_text("raise ImportError('No module named ray')\n")  # as if not installed
    monkeypatch.syspath_prepend(str(fake))
    monkeypatch.delitem(sys.modules, "ray", raising=False)
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["a"]))
    panel = window.load_panel
    fill(panel, qtbot, {OPENAI}, requests=4)
    choose(panel, CLUSTER, 2, "auto")
    finished = start(panel, qtbot)
    run_until(mw_loop, lambda: finished, timeout=30)
    assert finished == [""]  # no run
    assert "pip install 'desk[cluster]'" in panel.message.text() and "Ray" in panel.message.text()
    assert vendor.requests == []
    assert window.engine.loads.runs.list("load") == []  # nothing half-started is stored
    assert panel.start_button.isEnabled() and not panel.running
