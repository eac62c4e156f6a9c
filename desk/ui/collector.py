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

While a worker thread builds rows (a big run's matrix, its scorecard: inside
desk.core.collections_paused), a pass here would walk them all, young as they are: 100 to
700 ms of the GUI thread at 100,000 answers, measured. So it waits until they are done
(reference counting frees most of them then), at most WAIT_S, and then collects only the
youngest generation.

What such a worker hands over stays: a big run's matrix is 100,000 cells and more that the
view holds. Walked young, then middle-aged, then in a full pass, it would cost the GUI thread
50-150 ms each time. The view that reads and installs it does so in `handed_over()`: the young
objects, if more than FREEZE_FROM, are frozen (gc.freeze) out of every later pass. Reference counting
still frees them when the view lets go; a reference cycle among them (a dialog's wrapper,
say) is never collected: a few kilobytes per big read, kept until desk exits.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QObject, QTimer

from desk.core.collections_paused import collections_paused, under_way

CHECK_MS = 100  # often enough that a generation-0 pass stays small (sub-millisecond)
# The longest a worker's rows hold collection off (cycles made meanwhile wait). A pass made
# while they are alive walks them all: 100-200 ms of the GUI thread at 100,000 answers. At
# 5 s, a whole scorecard read slowed past it on a busy machine (2 of 6 bench runs) and two
# 100k runs compared (11 s) had one; no read of a big store takes 30 s.
WAIT_S = 30.0
FREEZE_FROM = 50_000  # young objects at a hand-over from which they are frozen: fewer are walked in a few ms


@contextmanager
def handed_over() -> Iterator[None]:
    """Around reading a result off the GUI thread and installing it in a view (a big run's
    matrix, its rating queue, its scorecard): the collector waits meanwhile, as it does for
    any worker's rows, and the result, if big, is frozen out of later passes once installed."""
    with collections_paused():
        yield
        if gc.get_count()[0] > FREEZE_FROM:
            gc.freeze()


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
        self._waiting: float | None = None  # since when a pass waits for a worker's rows

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
        """Collect the generations whose counts crossed Python's own thresholds; while a
        worker builds rows, nothing, or after WAIT_S the youngest generation only."""
        if gc.isenabled():  # turned back on by a block that started before the window
            gc.disable()
        counts = gc.get_count()
        generation = -1
        for level in range(3):
            if counts[level] > self._thresholds[level]:
                generation = level
        if generation < 0:
            return
        if under_way():
            now = time.monotonic()
            self._waiting = self._waiting or now
            if now - self._waiting < WAIT_S:
                return
            generation = 0
        gc.collect(generation)
        self.collections += 1
        self._waiting = None
