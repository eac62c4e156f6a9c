"""The window binds the Trials tab's model (desk.engine.trials_tab): its rules are what the
window says, its figures are what the streaming panes show, its state is what the window
reports. The rules themselves are tested without a window in tests/engine/test_trials_tab.py."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from desk.core.trial import ModelRef
from tests.ui.qt_helpers import run_until
from tests.vendor_server import Script


def test_a_model_of_an_unknown_provider_is_refused_in_the_banner(window, vendor):
    window.compose.prompt.setPlainText("hello")
    window.send(models=[ModelRef("openai", "gpt-4o-mini"), ModelRef("gone", "m")])  # Run again after a removal
    assert window.banner.isVisible()
    assert window.banner.label.text().startswith("unknown provider 'gone' (of gone/m): add it in Providers")
    assert window._run_task is None and window.grid.panes == [] and vendor.requests == []
    assert window.send_button.isEnabled() and not window.tab.running


def test_streaming_panes_show_the_models_figures(window, vendor, mw_loop):
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["slow "] * 40, stall_after_pieces=3))  # until cancelled
    window.picker.set_checked({"openai/gpt-4o-mini", "local/llama3.2"})
    window.compose.prompt.setPlainText("Write slowly")
    window.send()
    assert window.tab.running and not window.send_button.isEnabled() and window.cancel_button.isEnabled()
    run_until(mw_loop, lambda: any("streaming · " in p.status.text() for p in window.grid.panes))
    pane = next(p for p in window.grid.panes if p.result.model == "openai/gpt-4o-mini")
    figures = window.tab.figures[pane.result.id]
    assert figures.streaming and figures.ttft_ms is not None and figures.chars > 0
    window._tick_panes()
    shown = pane.status.text()
    assert shown.startswith("streaming · ") and shown.rsplit(" · ", 1)[0] == figures.status().rsplit(" · ", 1)[0]
    window.cancel()
    run_until(mw_loop, lambda: window._run_task.done())
    assert not window.tab.running and window.send_button.isEnabled() and not window.cancel_button.isEnabled()
    assert "Cancelled: every stream was stopped" in window.banner.label.text()
    assert window.current_trial_id is None  # a cancelled send is stored, not opened
