"""A suite's history (`desk suite history`, the Suites tab's timeline): every run of the
suite, whatever its version, read back as run versus run reads a run (the answer each cell
counts, verdicts from people else desk's automatic constraint check), and its figures per
model (the statistics are desk.core.run_history's)."""

from __future__ import annotations

from desk.core.letting_go import let_go
from desk.core.run_history import HistoryPoint, RunMeta, suite_history
from desk.engine.ports.ratings import TurnLookup
from desk.engine.ports.suites import RatingLookup, SuiteTables
from desk.engine.run_compare import run_facts
from desk.engine.suite_records import SuiteRunError, SuiteRunInfo

MAX_RUNS = 10_000  # years of weekly runs


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
    loaded = []
    for info in mine:
        _, facts = run_facts(suites, ratings, info, turns)
        loaded.append((RunMeta(info.run_id, info.created_at, info.suite_version, info.name, info.rerun_of), facts))
    points = suite_history(loaded, model=model)
    for _, facts in loaded:
        let_go(facts)  # a big run's facts freed at once held the window's GUI thread 30-40 ms (desk.core.letting_go)
    return points
