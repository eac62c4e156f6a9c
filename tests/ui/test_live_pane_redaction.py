"""The answer pane never shows a configured key the model echoes, not even while it streams."""

from __future__ import annotations

from desk.core.provider import ProviderConfig
from desk.ui.response_pane import ResponsePane
from tests.ui.qt_helpers import run_until
from tests.vendor_server import Script

KEY = "sk-test-ECHOED-0123456789abcdef"


def test_a_streamed_key_is_redacted_in_the_pane_before_the_answer_ends(window, vendor, mw_loop, monkeypatch):
    monkeypatch.setenv("DESK_TEST_ECHO_KEY", KEY)
    window.engine.store.providers.add(ProviderConfig("keyed", "openai", vendor.base_url + "/v1",
                                                    key_env="DESK_TEST_ECHO_KEY"))
    window.engine.store.providers.add_model("keyed", "echo")
    vendor.set_default("echo", Script(text_pieces=["Your key is ", KEY[:10], KEY[10:], ", keep it."],
                                      interval_ms=50))
    window.refresh_models()
    live: list[str] = []
    flush = ResponsePane.flush

    def watched_flush(pane: ResponsePane) -> bool:
        changed = flush(pane)
        if not pane.is_finished:
            live.append(pane.raw.toPlainText())
        return changed

    monkeypatch.setattr(ResponsePane, "flush", watched_flush)
    window.picker.set_checked({"keyed/echo"})
    window.compose.prompt.setPlainText("Repeat my key")
    window.send()
    run_until(mw_loop, lambda: window.current_trial_id is not None)
    assert any("[REDACTED]" in text for text in live), live  # it streamed, redacted
    assert not any(KEY[:10] in text for text in live), live
    (pane,) = window.panes_by_id.values()
    assert pane.raw.toPlainText() == "Your key is [REDACTED], keep it."
