"""A remote worker's clock against the head's, estimated as NTP does (pure rules).

Across machines wall clocks differ by milliseconds to seconds, so a worker measures its
requests' durations on its own monotonic clock and the head estimates, before the run,
how far that worker's wall clock is from its own: it asks the worker for its time several
times; in each round trip the head reads its clock before (t0) and after (t1) the worker
reads its own (tw). With the reply's way as long as the request's, the worker read tw at
the head's (t0 + t1) / 2, so `offset = tw - (t0 + t1) / 2`, wrong by at most half the round
trip. The round trip with the smallest RTT is the one least delayed by queues, so it is
the one kept, and RTT / 2 is its uncertainty.

A worker's instants (when an attempt started, first token, end) are put on the head's
clock by subtracting its offset; its durations need nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from desk.core.response import ResponseResult

PROBES = 8  # round trips per worker: the quickest of several escapes a one-off delay


@dataclass(frozen=True)
class ClockOffset:
    offset_s: float  # worker's wall clock minus the head's
    uncertainty_s: float  # half the round trip of the probe kept
    rtt_s: float

    def as_dict(self) -> dict[str, float]:
        return {"offset_ms": round(self.offset_s * 1000, 3), "uncertainty_ms": round(self.uncertainty_s * 1000, 3),
                "rtt_ms": round(self.rtt_s * 1000, 3)}


def estimate_offset(probes: Sequence[tuple[float, float, float]]) -> ClockOffset:
    """The offset from round trips `(t0, t_worker, t1)` (t0, t1 on the head's clock): the
    probe with the smallest RTT, see the module's docstring."""
    if not probes:
        raise ValueError("a clock offset needs at least one round trip")
    t0, tw, t1 = min(probes, key=lambda p: p[2] - p[0])
    rtt = max(0.0, t1 - t0)
    return ClockOffset(tw - (t0 + t1) / 2, rtt / 2, rtt)


def _moved(instant: float | None, delta: float) -> float | None:
    return None if instant is None else round(instant + delta, 6)


def shift_result(result: ResponseResult, delta: float) -> None:
    """Move a worker's answer's instants by `delta` seconds (minus its offset: onto the
    head's clock), its attempts' too; durations stay as measured."""
    result.started_at = _moved(result.started_at, delta)
    result.first_token_at = _moved(result.first_token_at, delta)
    result.ended_at = _moved(result.ended_at, delta)
    result.attempts = [replace(a, started_at=round(a.started_at + delta, 6),
                               first_token_at=_moved(a.first_token_at, delta), ended_at=_moved(a.ended_at, delta))
                       for a in result.attempts]
