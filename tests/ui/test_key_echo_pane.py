"""An answer repeating the user's key: the pane ends up showing [REDACTED] and its details
say why."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

import keyring

from desk.core.response import Status
from tests.ui.qt_helpers import run_until
from tests.vendor_server import Script

KEY = "sk-test-PANEECHO-0123456789abcdef"


def test_an_echoed_key_is_redacted_in_the_pane_and_noted_in_its_details(window, vendor, mw_loop):
    keyring.set_password("desk", "openai", KEY)
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["your key: ", KEY[:10], KEY[10:], " (keep it)"]))
    window.picker.set_checked({"openai/gpt-4o-mini"})
    window.compose.prompt.setPlainText("what is my key?")
    window.send()
    run_until(mw_loop, lambda: bool(window.grid.panes) and window.grid.panes[0].is_finished)
    pane = window.grid.panes[0]
    assert pane.result.status == Status.OK
    assert pane.text() == "your key: [REDACTED] (keep it)"
    assert KEY not in pane.raw.toPlainText() and KEY not in pane.rendered.toPlainText()
    assert "note: the answer contained the API key of provider 'openai' verbatim" in pane.details_text()
