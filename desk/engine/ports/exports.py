"""What exports and merges need from storage.

`ExportSource` is every read an export makes: rated answers and their counts, preferences,
the trials, rubrics and responses they point at, a run and its requests. `Merger` adds
another store's rows. `WorkerStore` is a connection of its own, opened for one job on a
worker thread, that a cancel can interrupt mid-statement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from desk.core.load import RequestOutcome
from desk.core.rating import Preference, Rating
from desk.core.response import ResponseResult
from desk.core.rubric import Rubric
from desk.store.merge import MergeReport
from desk.store.ratings import RatingFilter
from desk.store.runs import RunInfo
from desk.store.trials import StoredTrial


class RatedAnswers(Protocol):
    def matching_rating_keys(self, filters: RatingFilter | None = None) -> tuple[int, list[str]]:
        """How many rated answers `filters` selects, and the extra value keys they hold."""

    def rated_response_batches(self, filters: RatingFilter | None = None, size: int = 500, *,
                               attempts: bool = True) -> Iterator[list[tuple[ResponseResult, Rating]]]:
        """The rated answers a batch at a time, read as consumed."""

    def rated_responses(self, filters: RatingFilter | None = None) -> list[tuple[ResponseResult, Rating]]: ...

    def current_preferences(self, rater: str | None = None, *, trial_id: str | None = None) -> list[Preference]: ...


class ExportSource(RatedAnswers, Protocol):
    def get_trial(self, trial_id: str) -> StoredTrial | None: ...

    def get_trials(self, trial_ids: Sequence[str]) -> dict[str, StoredTrial]: ...

    def get_rubric(self, rubric_id: str) -> Rubric | None: ...

    def list_rubrics(self) -> list[Rubric]: ...

    def get_response(self, response_id: str) -> ResponseResult | None: ...

    def get_run(self, run_id: str) -> RunInfo | None: ...

    def run_requests(self, run_id: str) -> list[RequestOutcome]: ...

    def run_calls(self, run_id: str) -> list[tuple[int | None, ResponseResult]]: ...


class Merger(Protocol):
    def merge_from(self, path: str | Path, step: Callable[[int, int, str], None] | None = None) -> MergeReport:
        """Add every row of the store at `path` that this one lacks; `step(i, n, table)` per table."""


class WorkerStore(ExportSource, Merger, Protocol):
    def cancellable(self, cancelled: Callable[[], bool]) -> AbstractContextManager[None]:
        """While inside, a long statement stops soon after `cancelled()` turns true."""

    def close(self) -> None: ...


# Opens a new connection to the application's current store (for one job on a worker thread).
OpenWorkerStore = Callable[[], WorkerStore]
