"""Long work in the window: the status bar shows it and Cancel stops it."""

from __future__ import annotations

import socket

from PySide6.QtCore import Qt

from desk.engine import price_data
from tests.ui.qt_helpers import run_until


def test_price_update_shows_in_the_status_bar_and_cancel_stops_it(window, qtbot, mw_loop, monkeypatch):
    # A loopback server that accepts the request and never answers: a stalled price source.
    stall = socket.socket()
    stall.bind(("127.0.0.1", 0))
    stall.listen(4)
    monkeypatch.setattr(price_data, "DEFAULT_URL", f"http://127.0.0.1:{stall.getsockname()[1]}/prices.json")
    qtbot.waitUntil(lambda: "loading" not in window.price_label.text())  # named off the GUI thread at startup
    before = window.price_label.text()
    try:
        task = window.update_prices()
        run_until(mw_loop, lambda: window.busy.isVisible())
        assert "price data" in window.busy.label.text()
        assert window.update_prices() is None and "busy" in window.banner.label.text()  # one at a time
        qtbot.mouseClick(window.busy.cancel_button, Qt.MouseButton.LeftButton)
        run_until(mw_loop, task.done, timeout=5)
        assert not window.busy.isVisible()
        assert "cancelled" in window.banner.label.text() and window.price_label.text() == before
    finally:
        stall.close()


def test_price_update_failure_is_a_message(window, mw_loop, monkeypatch):
    from tests.cli_helpers import closed_port

    monkeypatch.setattr(price_data, "DEFAULT_URL", f"http://127.0.0.1:{closed_port()}/prices.json")
    mw_loop.run_until_complete(window.update_prices())
    assert "Price update failed" in window.banner.label.text()
    assert not window.busy.isVisible()
