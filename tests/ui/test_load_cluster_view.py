"""The Load tab shows a cluster run like any other stored run, with its workers' nodes and
clock offsets in the run's details."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")


def test_a_stored_cluster_run_shows_each_workers_node_and_clock_offset(window, qtbot):
    panel = window.load_panel
    window.tabs.setCurrentWidget(panel)
    runs = panel.engine.loads.runs
    run_id = runs.create("load", {"models": ["openai/gpt-4o-mini"], "steps": [{"concurrency": 4, "requests": 8}],
                                  "cluster": "ray://head:10001"}, "from the cluster")
    cluster = {"address": "ray://head:10001", "clock": "quickest of 8 round trips", "workers": [
        {"worker": 0, "node": "eu-west-1", "offset_ms": -3.25, "uncertainty_ms": 0.61, "rtt_ms": 1.22},
        {"worker": 1, "node": "us-east-2", "offset_ms": 41.5, "uncertainty_ms": 38.0, "rtt_ms": 76.0}],
        "lost_in_flight": [{"worker": 1, "node": "us-east-2", "step": 0, "requests": 2, "inputs": [0],
                            "not_sent": 1}]}
    runs.finish(run_id, "failed", {"wall_s": 1.0, "models": {}, "steps": [], "cluster": cluster,
                                   "event_loop_lag": {"samples": 0}, "workers_lost": ["worker 1: ActorDiedError"]})
    assert panel.open_run(run_id)
    text = panel.lag.text()
    assert "Ray cluster at ray://head:10001 (2 workers" in text
    assert "worker 0 on eu-west-1: clock offset -3.250 ms ± 0.610 ms" in text
    assert "worker 1 on us-east-2: clock offset +41.500 ms ± 38.000 ms" in text
    assert "worker 1 was lost in step 1: 2 requests in flight" in text
