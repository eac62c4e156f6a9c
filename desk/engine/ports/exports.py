"""What exports and merges need from storage.

`ExportSource` is every read an export makes, table by table: rated answers and their
counts, preferences, the trials, rubrics and responses they point at, a run and its
requests. `Merger` adds another store's rows. `WorkerStore` is a connection of its own,
opened for one job on a worker thread, that a cancel can interrupt mid-statement.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from desk.core.conversation import TurnLink
from desk.core.rating import Preference, Rating, RatingFilter
from desk.core.response import ResponseResult
from desk.engine.ports.ratings import RubricReader
from desk.engine.ports.runs import RunReader
from desk.engine.ports.trials import TrialHistory
from desk.store.merge import MergeReport


class RatedAnswers(Protocol):
    def matching_keys(self, filters: RatingFilter | None = None) -> tuple[int, list[str]]:
        """How many rated answers `filters` selects, and the extra value keys they hold."""

    def rated_response_batches(self, filters: RatingFilter | None = None, size: int = 500, *,
                               attempts: bool = True) -> Iterator[list[tuple[ResponseResult, Rating]]]:
        """The rated answers a batch at a time, read as consumed."""

    def rated_answer_batches(self, filters: RatingFilter | None = None, size: int = 500, *,
                             attempts: bool = True) -> Iterator[list[tuple[dict[str, Any], Rating]]]:
        """The same, each response as plain values (desk.core.records.response_fields' shape)."""

    def rated_responses(self, filters: RatingFilter | None = None) -> list[tuple[ResponseResult, Rating]]: ...

    def current_preferences(self, rater: str | None = None, *, trial_id: str | None = None) -> list[Preference]: ...


class AnswerLookup(Protocol):
    def get(self, response_id: str) -> ResponseResult | None: ...

    def values_by_ids(self, response_ids: Sequence[str], *, attempts: bool = False) -> dict[str, dict[str, Any]]:
        """These answers as plain values (desk.core.records.response_fields' shape), by id."""


class RunEvidence(RunReader, Protocol):
    def calls(self, run_id: str) -> list[tuple[int | None, ResponseResult]]:
        """(run_seq, response) of every model call of a run, load or suite."""


class TurnLookup(Protocol):
    def for_responses(self, response_ids: Sequence[str]) -> dict[str, TurnLink]:
        """The links of those of these responses that continue a conversation, by id."""


class AnswerRows(Protocol):
    def count(self, filters: RatingFilter | None = None, *, value_keys: bool = True) -> tuple[int, list[str]]:
        """How many rated answers `answers` yields, and the extra value keys they hold
        (none read when `value_keys` is False)."""

    def answers(self, filters: RatingFilter | None = None, size: int = 1000,
                columns: Sequence[str] = ..., quoted: Collection[str] = ...) -> Iterator[list[tuple[Any, ...]]]:
        """The rated answers as tuples of `columns` (desk.store.export_reads.ANSWER_COLUMNS,
        the default, or some of them), a batch at a time; text columns in `quoted` as JSON text."""

    def attempts(self, response_ids: Sequence[str]) -> dict[str, list[tuple[Any, ...]]]:
        """These responses' attempts in order, as ATTEMPT_COLUMNS tuples, by response id."""


class ExportSource(Protocol):
    @property
    def exports(self) -> AnswerRows: ...

    @property
    def runs(self) -> RunEvidence: ...

    @property
    def turns(self) -> TurnLookup: ...

    @property
    def ratings(self) -> RatedAnswers: ...

    @property
    def rubrics(self) -> RubricReader: ...

    @property
    def trials(self) -> TrialHistory: ...

    @property
    def responses(self) -> AnswerLookup: ...


class Merger(Protocol):
    def merge_from(self, path: str | Path, step: Callable[[int, int, str], None] | None = None) -> MergeReport:
        """Add every row of the store at `path` that this one lacks; `step(i, n, table)` per table."""


class WorkerStore(ExportSource, Merger, Protocol):
    def cancellable(self, cancelled: Callable[[], bool]) -> AbstractContextManager[None]:
        """While inside, a long statement stops soon after `cancelled()` turns true."""

    def close(self) -> None: ...


# Opens a new connection to the application's current store (for one job on a worker thread).
OpenWorkerStore = Callable[[], WorkerStore]
