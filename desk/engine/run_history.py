"""A suite's history (`desk suite history`, the Suites tab's timeline): every run of the
suite, whatever its version, read back as run versus run reads a run (the answer each cell
counts, verdicts from people else desk's automatic constraint check), and its figures per
model (the statistics are desk.core.run_history's).

Reading a run of 100,000 answers back and working out its figures takes seconds, and a
timeline shows every run of its suite: each run's points are kept in memory (the last
KEPT_RUNS worked out) while nothing they are read from has changed (the store's reading
version), so opening the timeline again, or another model's, reads only the runs that changed."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from desk.core.letting_go import let_go
from desk.core.run_history import HistoryPoint, RunMeta, marked, run_points
from desk.engine.ports.ratings import TurnLookup
from desk.engine.ports.suites import RatingLookup, SuiteTables
from desk.engine.run_compare import run_facts
from desk.engine.suite_records import SuiteRunError, SuiteRunInfo

MAX_RUNS = 10_000  # years of weekly runs
KEPT_RUNS = 256  # a run's points are a few kB: a long timeline's every run, several times over

_kept: OrderedDict[Hashable, list[HistoryPoint]] = OrderedDict()
_kept_lock = threading.Lock()  # timelines are read on worker threads


def history_of(suites: SuiteTables, ratings: RatingLookup, runs: list[SuiteRunInfo], name: str, *,
               model: str | None = None, turns: TurnLookup | None = None) -> list[HistoryPoint]:
    """The points of every run of suite `name` among `runs` (oldest first), per model or
    only `model`. Raises SuiteRunError for a suite that was never stored, or a model none of
    its runs sent to."""
    mine = [r for r in runs if r.suite == name]
    if not mine and not suites.list_suites(name, all_versions=True):
        raise SuiteRunError(f"no suite named {name!r} (see 'desk suite list')")
    if model is not None and mine and not any(model in r.models for r in mine):
        known = sorted({m for r in mine for m in r.models})
        raise SuiteRunError(f"no run of suite {name!r} sent to {model} (its models: {', '.join(known)})")
    version = suites.reading_version() if mine else None
    points: list[HistoryPoint] = []
    for info in sorted(mine, key=lambda r: (r.created_at, r.run_id)):
        meta = RunMeta(info.run_id, info.created_at, info.suite_version, info.name, info.rerun_of)
        key = (version, meta, model)
        with _kept_lock:
            found = _kept.get(key)
            if found is not None:
                _kept.move_to_end(key)
        if found is None:
            _, facts = run_facts(suites, ratings, info, turns)
            found = run_points(meta, facts, model=model)
            let_go(facts)  # a big run's facts freed at once held the window's GUI thread 30-40 ms (desk.core.letting_go)
            with _kept_lock:
                _kept[key] = found
                while len(_kept) > KEPT_RUNS:
                    _kept.popitem(last=False)
        points += found
    return marked(points)
