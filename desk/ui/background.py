"""Slow look-ups the window shows the answer of, done on a worker thread.

The keyring's backend detection (0.3-0.6 s) and naming the price data in use (a walk of
the whole catalog, 40-200 ms) once ran on the GUI thread just as the first trial was sent.
"""

from __future__ import annotations

import atexit
import itertools
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from shiboken6 import isValid


class _Relay(QObject):
    """One object for the life of the app, living on the GUI thread: workers only emit on
    it, so no Qt object is ever created or destroyed on a worker thread."""

    ready = Signal(object)


_relay: _Relay | None = None
_waiting: dict[int, tuple[QObject, Callable[[Any], object]]] = {}
_keys = itertools.count()
# A worker still looking up when the app exits (the window closed within a second of
# opening) must not emit while Qt tears down: that crashed the process at exit. Emitting and
# closing take this lock, and nothing is emitted once the interpreter has begun to exit
# (this hook runs before PySide's own, registered earlier, destroys the application).
_emitting = threading.Lock()
_closed = False


@atexit.register
def _close() -> None:
    global _closed
    with _emitting:
        _closed = True


def call_in_thread(receiver: QObject, work: Callable[[], Any], done: Callable[[Any], object]) -> None:
    """Run `work()` on a worker thread and `done(result)` on the GUI thread (call this from
    the GUI thread); nothing is delivered if `receiver`, whose widgets `done` updates, has
    been deleted meanwhile."""
    global _relay
    if _relay is None:
        _relay = _Relay()
        _relay.ready.connect(_deliver, Qt.ConnectionType.QueuedConnection)
    key = next(_keys)
    _waiting[key] = (receiver, done)
    relay = _relay

    def run() -> None:
        result = work()
        with _emitting:
            if not _closed and isValid(relay):
                relay.ready.emit((key, result))

    threading.Thread(target=run, name=f"desk-ui-{getattr(work, '__name__', 'lookup')}", daemon=True).start()


def _deliver(message: tuple[int, Any]) -> None:
    key, result = message
    receiver, done = _waiting.pop(key)
    if isValid(receiver):
        done(result)
