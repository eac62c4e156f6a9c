"""One clock for every timestamp desk records.

Durations come from `perf_counter` (monotonic, sub-microsecond). Wall-clock instants are
derived from it through one anchor taken at import, so `ttft_ms` always equals
`(first_token_at - started_at) * 1000` exactly and timestamps can be joined with a
loopback server's `time.time()` log (processes on one machine share the wall clock).
"""

from __future__ import annotations

import time

_WALL0 = time.time()
_PERF0 = time.perf_counter()

now = time.perf_counter


def wall(perf: float) -> float:
    """Convert a `perf_counter` reading into unix seconds."""
    return _WALL0 + (perf - _PERF0)


def ms(start: float, end: float) -> float:
    """Milliseconds between two `perf_counter` readings, rounded to the microsecond."""
    return round((end - start) * 1000.0, 3)
