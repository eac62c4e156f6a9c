"""One clock for every timestamp desk records.

Durations come from `perf_counter` (monotonic, sub-microsecond). Wall-clock instants are
derived from it through one anchor taken at import, so timestamps can be joined with a
loopback server's `time.time()` log (processes on one machine share the wall clock).

A recorded instant is unix seconds rounded to the microsecond (`stamp`), and a recorded
duration is the difference of two recorded instants in milliseconds rounded to the
microsecond (`span_ms`): so `ttft_ms == round((first_token_at - started_at) * 1000, 3)`
holds exactly for the stored numbers, not just approximately.
"""

from __future__ import annotations

import time

_WALL0 = time.time()
_PERF0 = time.perf_counter()

now = time.perf_counter


def wall(perf: float) -> float:
    """Convert a `perf_counter` reading into unix seconds."""
    return _WALL0 + (perf - _PERF0)


def stamp(perf: float) -> float:
    """A `perf_counter` reading as the unix seconds desk records (microsecond precision)."""
    return round(wall(perf), 6)


def span_ms(start_at: float, end_at: float) -> float:
    """Milliseconds between two recorded instants (`stamp`s), to the microsecond."""
    return round((end_at - start_at) * 1000.0, 3)


def ms(start: float, end: float) -> float:
    """Milliseconds between two `perf_counter` readings, rounded to the microsecond."""
    return round((end - start) * 1000.0, 3)


def perf(wall_s: float) -> float:
    """A unix time as this process's `perf_counter` reading (the inverse of `wall`): how a
    worker process finds, on its own clock, an instant another process named."""
    return wall_s - _WALL0 + _PERF0
