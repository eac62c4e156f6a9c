"""Cyclic garbage collection paused while a computation builds many short-lived objects.

A first scorecard at 100,000 answers holds some 200,000 rows alive while it makes a million
small tuples and lists: each allocation burst sets off collections, and each full one walks
every live row (0.4 s of its 1.8 s CPU, measured). Nothing it builds is cyclic garbage that
must go early: reference counting frees it as before, and whatever cycles remain are
collected once collection resumes.

The window collects on its GUI thread only (desk/ui/collector.py), and a big run's reads run
on worker threads: a pass there would walk the rows a worker is building (100-700 ms at
100,000 answers, measured), so the window's collector waits while any block is under way
(`under_way`)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_blocks = 0  # blocks under way, on any thread
_disabled_here = False  # whether the first of them turned automatic collection off


@contextmanager
def collections_paused() -> Iterator[None]:
    """Pause the collector for the block, on every thread: the collector is process-wide.
    Automatic collection comes back when the last block under way ends, if a block turned
    it off: a collector found paused (the window's, which collects on its GUI thread) stays so."""
    global _blocks, _disabled_here
    with _lock:
        if _blocks == 0:
            _disabled_here = gc.isenabled()
            gc.disable()
        _blocks += 1
    try:
        yield
    finally:
        with _lock:
            _blocks -= 1
            if _blocks == 0 and _disabled_here:
                gc.enable()
                _disabled_here = False


def under_way() -> bool:
    """Whether some thread is inside a collections_paused block now."""
    return _blocks > 0
