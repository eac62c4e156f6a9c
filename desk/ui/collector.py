"""Garbage collection only on the GUI thread.

Python's automatic collector runs on whichever thread happens to allocate when a threshold
is crossed: the load thread, a keyring worker, an HTTP test server. If the garbage it finds
holds Qt objects (a closed dialog's widgets, a QTimer in a reference cycle), they are then
destroyed on that thread; Qt cannot stop their timers from there, and the next timer tick
on the GUI thread touches freed memory and the process dies with a segfault. So while the
window lives, automatic collection is off and a timer on the GUI thread does the same
generational collections instead (pyqtgraph's GarbageCollector does the same, for the
same reason). Reference counting, which frees everything that is not a cycle, is
unaffected.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_MS = 100  # often enough that a generation-0 pass stays small (sub-millisecond)


class GuiThreadCollector(QObject):
    """Collects on the thread that creates it (the GUI thread), from its event loop."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_MS) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self.collections = 0

    def start(self) -> GuiThreadCollector:
        gc.disable()
        self._timer.start()
        return self

    def stop(self) -> None:
        """Collect everything once more here, then give collection back to Python."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def check(self) -> None:
        """Collect the generations whose counts crossed Python's own thresholds."""
        counts = gc.get_count()
        generation = -1
        for level in range(3):
            if counts[level] > self._thresholds[level]:
                generation = level
        if generation >= 0:
            gc.collect(generation)
            self.collections += 1
