"""The machine a run measured its latencies on. Two runs of a suite compared on one busy
laptop differ in TTFT by what else the machine was doing, not only by the model: a paired
test cannot tell the two apart, because the load is shared by the whole run. So each run
records, per sending (a resume is a second one), which machine sent, its cores and its load
average at the start and the end, and a comparison says when the two runs' machines were
not alike enough for their latencies to speak for the models alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

BUSY_PER_CORE = 0.75  # load average per core from which the machine's own queue shows in TTFT
BUSIER_BY = 0.5  # and this much more per core than the other run's machine


@dataclass(frozen=True)
class RunConditions:
    """One sending of a run: the host, its cores and its 1-minute load average when the
    sending started and ended (None where the system has no load average)."""

    host: str
    cpus: int
    load_start: float | None
    load_end: float | None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> RunConditions:
        def load(key: str) -> float | None:
            v = d.get(key)
            return float(v) if isinstance(v, int | float) else None

        return cls(str(d.get("host", "?")), max(1, int(d.get("cpus") or 1)), load("load_start"), load("load_end"))

    def busiest_per_core(self) -> float | None:
        loads = [x for x in (self.load_start, self.load_end) if x is not None]
        return max(loads) / self.cpus if loads else None


def conditions_of(summary: Mapping[str, Any] | None) -> tuple[RunConditions, ...]:
    """A run's sendings as its stored summary records them (none for runs made before)."""
    found = (summary or {}).get("conditions")
    if not isinstance(found, list):
        return ()
    return tuple(RunConditions.from_json(d) for d in found if isinstance(d, Mapping))


def busiest(legs: Sequence[RunConditions]) -> float | None:
    loads = [x for leg in legs if (x := leg.busiest_per_core()) is not None]
    return max(loads) if loads else None


def conditions_note(a: Sequence[RunConditions], b: Sequence[RunConditions]) -> str | None:
    """What a reader of two runs' latency figures must know about where they were measured:
    other machines, or one machine much busier than the other. None when the runs' records
    say nothing against comparing them (or a run has no record)."""
    if not a or not b:
        return None
    notes = []
    hosts_a, hosts_b = sorted({leg.host for leg in a}), sorted({leg.host for leg in b})
    if hosts_a != hosts_b:
        notes.append(f"the runs were sent from different machines ({', '.join(hosts_a)} and {', '.join(hosts_b)}): "
                     "their latencies include each machine and its network path")
    load_a, load_b = busiest(a), busiest(b)
    if load_a is not None and load_b is not None:
        high, low = max(load_a, load_b), min(load_a, load_b)
        if high >= BUSY_PER_CORE and high - low >= BUSIER_BY:
            which = "B" if load_b > load_a else "A"
            notes.append(f"run {which}'s machine was busier (load {high:.2f} per core against {low:.2f}): "
                         "its latency figures may show the machine, not the model")
    return "; ".join(notes) if notes else None
