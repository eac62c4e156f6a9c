"""Slow look-ups the window shows the answer of, done on a worker thread.

The keyring's backend detection (0.3-0.6 s) and naming the price data in use (a walk of
the whole catalog, 40-200 ms) once ran on the GUI thread just as the first trial was sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal


class _Relay(QObject):
    ready = Signal(object)


def call_in_thread(receiver: QObject, work: Callable[[], Any], done: Callable[[Any], object]) -> None:
    """Run `work()` on a worker thread and `done(result)` on the GUI thread; nothing is
    delivered if `receiver` (whose widgets `done` updates) is deleted meanwhile."""
    relay = _Relay(receiver)  # deleted with the receiver, which drops the delivery
    relay.ready.connect(done, Qt.ConnectionType.QueuedConnection)
    relay.ready.connect(relay.deleteLater, Qt.ConnectionType.QueuedConnection)

    def run() -> None:
        result = work()
        try:
            relay.ready.emit(result)
        except RuntimeError:  # the receiver and its relay are gone: nobody to tell
            pass

    threading.Thread(target=run, name=f"desk-ui-{getattr(work, '__name__', 'lookup')}", daemon=True).start()
