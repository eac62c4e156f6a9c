"""The pane says so while it backs off before a retry, then shows the wall time waited
beside the final attempt's own TTFT and total."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from desk.core.response import Status
from tests.ui.qt_helpers import run_until
from tests.vendor_server import Script


def test_pane_shows_the_backoff_live_then_both_timings(window, vendor, mw_loop):
    limited = Script(status=429, headers={"Retry-After": "0.6"})
    vendor.enqueue("gpt-4o-mini", limited, limited, Script(text_pieces=["Revenue fell 4%."]))
    window.picker.set_checked({"openai/gpt-4o-mini"})
    window.compose.prompt.setPlainText("How did revenue change?")
    window.send()
    run_until(mw_loop, lambda: len(window.grid.panes) == 1)
    pane = window.grid.panes[0]
    run_until(mw_loop, lambda: "429 · retry 1 of 2 in" in pane.status.text())
    run_until(mw_loop, lambda: "429 · retry 2 of 2 in" in pane.status.text())
    run_until(mw_loop, lambda: pane.is_finished)
    r = pane.result
    assert r.status == Status.OK and r.retries == 2
    header = pane.status.text()
    assert "waited 1." in header and "2 retries" in header  # 1.2 s of backoff and the requests
    assert "final attempt: TTFT" in header and "total" in header
    # Qt's coarse timers (qasync's sleep) may end a wait up to 5% early: what was waited is measured.
    assert r.wall_ms > 1100 > 500 > r.total_ms
