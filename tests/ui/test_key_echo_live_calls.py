"""The window's live tool-call view never shows a configured API key the model echoes in a
call's arguments, even split across deltas: on screen while the stream is held right after
the key's last piece, and in every state drawn before; the finished calls show it redacted."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from desk.core.provider import ProviderConfig
from desk.engine.session import Engine
from desk.store.db import open_store
from tests.engine.test_key_echo_fields import KEY, TOOLS, echo_calls
from tests.ui.qt_helpers import run_until
from tests.ui.windows import open_window
from tests.vendor_server import Script


@pytest.fixture
def keyed_window(qtbot, tmp_path, vendor, mw_loop, monkeypatch):
    monkeypatch.setenv("DESK_TEST_HSEC_KEY", KEY)
    store = open_store(tmp_path / "gui.db")
    for name, kind, url in [("openai", "openai", vendor.base_url + "/v1"), ("claude", "anthropic", vendor.base_url)]:
        store.providers.add(ProviderConfig(name, kind, url, key_env="DESK_TEST_HSEC_KEY"))
    store.providers.add_model("openai", "gpt-4o-mini")
    store.providers.add_model("claude", "claude-sonnet-4-5")
    with open_window(qtbot, mw_loop, Engine(store), tmp_path) as win:
        yield win


def test_the_live_call_view_never_shows_an_echoed_key(keyed_window, vendor, mw_loop):
    window = keyed_window
    # Held right after the key's last piece: OpenAI chunks are role, call 1's head, then its
    # argument pieces; Anthropic's message_start, block start, then the input_json deltas.
    vendor.set_default("gpt-4o-mini", Script(replay=_replay("openai"), stall_after_pieces=5))
    vendor.set_default("claude-sonnet-4-5", Script(replay=_replay("anthropic"), stall_after_pieces=5))
    window.picker.set_checked({"openai/gpt-4o-mini", "claude/claude-sonnet-4-5"})
    window.compose.prompt.setPlainText("Weather and code?")
    window.compose.tools.text.setPlainText(TOOLS.as_json())
    window.send()
    seen: list[str] = []

    def shown() -> dict[str, str]:
        now = {p.result.model: p.tool_calls.toPlainText() for p in window.grid.panes if p.tool_calls.isVisible()}
        seen.extend(now.values())
        return now

    held = '[call 1: get_weather · arguments arriving]\n  {"city": "[REDACTED]'
    run_until(mw_loop, lambda: shown() == {"openai/gpt-4o-mini": held, "claude/claude-sonnet-4-5": held})
    assert not [s for s in seen if KEY[:9] in s or KEY[9:] in s], seen
    window.cancel()
    run_until(mw_loop, lambda: not window.tab.running)
    for pane in window.grid.panes:
        assert KEY not in pane.tool_calls.toPlainText() and KEY not in pane.details_text()


def test_finished_calls_are_shown_redacted_with_their_verdict(keyed_window, vendor, mw_loop):
    window = keyed_window
    vendor.set_default("gpt-4o-mini", echo_calls(KEY))
    window.picker.set_checked({"openai/gpt-4o-mini"})
    window.compose.prompt.setPlainText("Weather and code?")
    window.compose.tools.text.setPlainText(TOOLS.as_json())
    window.send()
    run_until(mw_loop, lambda: bool(window.grid.panes) and window.grid.panes[0].is_finished)
    pane = window.grid.panes[0]
    text = pane.tool_calls.toPlainText()
    assert "[call 1: get_weather · valid]" in text and '"city": "[REDACTED]"' in text
    assert "[call 2: get_code · INVALID: arguments.code: '[REDACTED]' is too long]" in text
    assert KEY not in text and KEY not in pane.details_text()
    assert "API key of provider 'openai' verbatim (in tool-call arguments)" in pane.details_text()


def _replay(protocol: str) -> list[str]:
    from tests.vendor_tool_calls import tool_call_body

    calls = [(name, list(pieces)) for name, pieces in echo_calls(KEY).tool_calls or []]
    model = "gpt-4o-mini" if protocol == "openai" else "claude-sonnet-4-5"
    return tool_call_body(protocol, calls, model, True)
