"""A two-turn conversation in the real window, for the tests of later turns: two models
asked "How did sales do?", then Reply to all, until both second turns can be rated."""

from __future__ import annotations

from tests.ui.qt_helpers import run_until
from tests.vendor_server import Script


def reply_to_all(window, vendor, mw_loop, first: str, second: str) -> None:
    """gpt-4o-mini answers `first` (claude-sonnet-4-5 "Sales rose."), then both `second`."""
    vendor.enqueue("gpt-4o-mini", Script(text_pieces=[first]), Script(text_pieces=[second]))
    vendor.enqueue("claude-sonnet-4-5", Script(text_pieces=["Sales rose."]), Script(text_pieces=[second]))
    window.picker.set_checked({"openai/gpt-4o-mini", "claude/claude-sonnet-4-5"})
    window.compose.prompt.setPlainText("How did sales do?")
    window.send()
    run_until(mw_loop, lambda: window.current_trial_id is not None and not window.tab.running)
    window.reply_all("The third quarter.")
    run_until(mw_loop, lambda: all(p.turn_panes and p.turn_panes[0].rating is not None for p in window.grid.panes)
              and not window.tab.running)
