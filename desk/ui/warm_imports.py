"""Importing what the window's plots need before the user first opens one.

numpy and pyqtgraph take 0.25-0.6 s to import here. The window starts without them (cold
start, issue 21), so the first Scorecard…, Compare runs… or Load tab imported them on the
GUI thread: a stall of that length at the click, and, with answers streaming, in their
timing. Imported on a worker thread while the window idles, the GUI thread still gets the
GIL every few milliseconds (longest gap measured 12-20 ms, against 250-570 ms on the GUI
thread); a click during the import waits only for what is left of it.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import sys
import threading
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger("desk.ui")

PLOT_MODULES = ("numpy", "pyqtgraph")
AFTER_SHOWN_MS = 1_500  # the window's own start-up work (price data, keyring probe) goes first
RETRY_MS = 1_000  # while answers stream, their timing is not shared with an import

_thread: threading.Thread | None = None
_lock = threading.Lock()


def warm_up(modules: Sequence[str] = PLOT_MODULES) -> threading.Thread | None:
    """Import `modules` on a worker thread (once per process); the thread, or None when every
    one of them is imported already."""
    global _thread
    with _lock:
        missing = [name for name in modules if name not in sys.modules]
        if not missing:
            return None
        if _thread is not None and _thread.is_alive():
            return _thread
        _thread = threading.Thread(target=_import_all, args=(missing,), name="desk-warm-imports", daemon=True)
        _thread.start()
        return _thread


def warm_when_idle(owner: QObject, busy: Callable[[], bool], modules: Sequence[str] = PLOT_MODULES) -> None:
    """Warm `modules` up AFTER_SHOWN_MS from now, or once `busy()` (something streams) is false."""

    def attempt() -> None:
        if busy():
            QTimer.singleShot(RETRY_MS, owner, attempt)
        else:
            warm_up(modules)

    QTimer.singleShot(AFTER_SHOWN_MS, owner, attempt)


def wait(timeout: float | None = None) -> bool:
    """Block until the warm-up under way (if any) is done; False if it is still going."""
    thread = _thread
    if thread is not None:
        thread.join(timeout)
        return not thread.is_alive()
    return True


@atexit.register
def _finish_before_exit() -> None:
    # Registered after PySide6's own exit hook, so run before it: an import half done while
    # the interpreter and Qt tear down could crash the exit of a window closed at that moment.
    wait(10)


def _import_all(modules: Sequence[str]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # imported again where it is needed, which says what went wrong
            log.warning("could not import %s ahead of its first use", name, exc_info=True)
