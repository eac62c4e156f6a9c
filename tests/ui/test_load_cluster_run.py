"""A load run on a Ray cluster started from the Load tab (a local cluster of two CPUs, as
tests/engine/test_load_cluster.py starts it): drawn as its batches come back, then shown
like any other run, with its workers' nodes and clock offsets."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
from desk.engine.load_tab import CLUSTER
from tests.ui.qt_helpers import run_until
from tests.ui.test_load_view import OPENAI, fill, start
from tests.ui.test_load_where import choose
from tests.vendor_server import Script

ray = pytest.importorskip("ray")  # the desk[cluster] extra


@pytest.fixture
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.mark.slow
def test_a_cluster_run_from_the_load_tab_is_drawn_as_it_comes_back(cluster, window, qtbot, vendor, mw_loop):
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["a"], first_token_delay_ms=120))
    panel = window.load_panel
    fill(panel, qtbot, {OPENAI}, requests=64, concurrency=4)  # 2 actors x 2 streams x 16 requests: ~2 s
    choose(panel, CLUSTER, 2, "auto")
    during: list[int] = []

    def look() -> bool:
        if panel.running:
            during.append(panel.progress.value())
        return bool(finished)

    finished = start(panel, qtbot)
    run_until(mw_loop, look, timeout=180)
    run = window.engine.loads.runs.get(finished[0])
    assert run.status == "done", run.summary
    assert run.spec["cluster"] == "auto" and run.spec["workers"] == 2
    assert panel.summary_cell(OPENAI, "OK") == "64"
    assert any(0 < value < 64 for value in during)  # batches drawn before the run ended
    text = panel.lag.text()
    assert "Ray cluster at auto (2 workers" in text and "worker 0 on " in text and "clock offset" in text
