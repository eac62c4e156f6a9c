"""Exports write a rating's time as `datetime.fromtimestamp(ts, UTC).isoformat(timespec=
"milliseconds")` would, though `iso_times` builds a second's text once: the same text for
times that round up into the next second, half-microsecond ties, negative times and
times spread over centuries."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from desk.engine.export_table import iso_times


def _reference(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def test_iso_times_write_what_datetime_writes():
    rng = random.Random(21)
    edges = [whole + part for whole in (0, 1, -1, 1.7e9, 1_700_000_001)
             for part in (0.0, 0.0005, 0.0004999, 0.9999995, 0.9999994, 0.9999996, 0.4999995,
                          0.0000005, 0.0000015, 0.0000025, -0.0000005, -0.9999995)]
    spread = [rng.uniform(-2e9, 4e9) for _ in range(20_000)]
    to_the_us = [round(rng.uniform(1.6e9, 1.8e9), 6) for _ in range(20_000)]
    one_second = [1_700_000_000 + k / 1e6 for k in range(0, 1_000_000, 37)]
    times = [None, 0, 5, -3, *edges, *spread, *to_the_us, *one_second, None]
    assert iso_times(times) == [_reference(ts) for ts in times]
    assert iso_times(times) == [_reference(ts) for ts in times]  # from the remembered seconds
