"""What suites and suite runs need from storage (desk.store.suites' SuiteTable implements
the first two) and from the other areas' tables and services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from desk.core.rating import Rating, RatingCell, RatingFigures, RatingFilter
from desk.core.response import ResponseFigures, ResponseResult
from desk.core.suite import Case, Suite
from desk.core.tools import ToolCall
from desk.engine.jobs import Job
from desk.engine.ports.ratings import (
    RatingReader,
    ResponseFigureReader,
    ScorecardCache,
    ScoreSources,
    TurnLookup,
)
from desk.engine.scorecard import ModelScore
from desk.store.suites import CellFigures, RunCell, SuiteInfo, SuiteRunRow
from desk.store.trials import StoredTrial

T = TypeVar("T")


class SuiteShelf(Protocol):
    """Versioned suites and their cases."""

    def save_suite(self, suite: Suite, *, sha256: str | None = None, stable_ids: bool = False) -> Suite: ...

    def list_suites(self, name: str | None = None, *, all_versions: bool = False) -> list[SuiteInfo]: ...

    def get_suite(self, name: str, version: int | None = None) -> Suite | None: ...

    def get_suite_by_id(self, suite_id: str) -> Suite | None: ...

    def find_suite_file(self, name: str, sha256: str) -> SuiteInfo | None: ...


class RunLedger(Protocol):
    """Which trial answers which (case, sample) of a suite run, and the run's state."""

    def cell_trial(self, run_id: str, case: Case, sample: int) -> str: ...

    def link_response(self, response_id: str, run_id: str, seq: int) -> None: ...

    def run_trials(self, run_id: str) -> list[tuple[str, int, str]]: ...

    def run_cells(self, run_id: str) -> list[RunCell]: ...

    def cell_statuses(self, run_id: str) -> list[tuple[str, int, str, str, str]]: ...

    def cell_figures(self, run_id: str) -> list[CellFigures]: ...

    def reading_version(self) -> tuple[str, str, int, int, int]: ...

    def rater_cells(self, run_id: str, rater: str) -> list[tuple[str, int, str, str, str, int]]: ...

    def cell_times(self, run_id: str) -> list[tuple[str, int, str, str, str, float, int]]: ...

    def tool_calls(self, response_ids: Sequence[str]) -> dict[str, list[ToolCall]]: ...

    def trials_and_models(self, response_ids: Sequence[str]) -> dict[str, tuple[str, str]]: ...

    def cell_lines(self, run_id: str) -> tuple[list[CellFigures], dict[str, str]]: ...

    def suite_runs(self, limit: int = 200, run_id: str | None = None,
                   active: Iterable[str] = (), counts: tuple[int, int] | None = None) -> list[SuiteRunRow]: ...

    def claim_run(self, run_id: str) -> None: ...

    def save_partial_rating(self, response_id: str, rater: str, values: dict[str, Any],
                            beside: Mapping[str, Any] | None = None) -> Rating: ...

    def answers(self, response_ids: Sequence[str]) -> dict[str, ResponseResult]: ...


class SuiteTables(SuiteShelf, RunLedger, Protocol):
    """Both: what SuiteService is built on."""


class TrialLookup(Protocol):
    def get(self, trial_id: str) -> StoredTrial | None: ...


class RunRecords(Protocol):
    """The `runs` rows a suite run is one of (kind 'suite')."""

    def create(self, kind: str, spec: dict[str, Any], name: str | None = None) -> str: ...

    def finish(self, run_id: str, status: str, summary: dict[str, Any]) -> None: ...


class ModelShelf(Protocol):
    def add_model(self, provider_name: str, model: str) -> None: ...


class RatingLookup(Protocol):
    """People's and the automatic check's current verdicts, and the answers rated."""

    def current(self, response_ids: Sequence[str] | None = None,
                rater: str | None = None) -> list[Rating]: ...

    def rated_responses(self, filters: RatingFilter | None = None) -> list[tuple[ResponseResult, Rating]]: ...

    def rated_by(self, rater: str, response_ids: Sequence[str]) -> set[str]: ...

    def cells(self, response_ids: Sequence[str]) -> list[RatingCell]: ...

    def figures(self, filters: RatingFilter | None = None) -> list[RatingFigures]: ...


class AnswerScope(Protocol):
    """Every answer a scorecard's filters put in scope, rated or not."""

    def all(self, filters: RatingFilter | None = None, *, load_runs: bool = True) -> list[ResponseResult]: ...

    def figures(self, filters: RatingFilter | None = None, *, load_runs: bool = True,
                ids: Sequence[str] | None = None) -> list[ResponseFigures]: ...


class Reachability(Protocol):
    async def unreachable(self, names: Sequence[str]) -> dict[str, str]:
        """Providers that cannot be connected to right now: name -> why."""


class Scorecards(Protocol):
    def scorecard(self, filters: RatingFilter | None = None, *, seed: int = 0,
                  constraints: str = ...) -> list[ModelScore]:
        """Per-model scorecard over the stored ratings (desk.engine.scorecard's rules)."""

    def scorecard_on(self, sources: ScoreSources, filters: RatingFilter | None = None, *, seed: int = 0,
                     constraints: str = ...) -> list[ModelScore]:
        """`scorecard` read from `sources` (a worker thread's own connection)."""


class RunRatings(RatingLookup, RatingReader, Protocol):
    """The ratings a run's readers and its whole scorecard both read."""


class RunAnswers(AnswerScope, ResponseFigureReader, Protocol):
    """The answers a run's scorecard reads, and the whole scorecard it starts from."""


class RunReaders(Protocol):
    """What reading a run back needs, on a connection of its own (a worker thread's): its
    scorecard too, so it is a scorecard's ScoreSources as well."""

    @property
    def suites(self) -> SuiteTables: ...

    @property
    def ratings(self) -> RunRatings: ...

    @property
    def turns(self) -> TurnLookup: ...

    @property
    def responses(self) -> RunAnswers: ...

    @property
    def scorecards(self) -> ScorecardCache: ...


class ReadElsewhere(Protocol):
    def __call__(self, job: Job, use: Callable[[RunReaders], T], /) -> Awaitable[T]:
        """`use(readers)` on a worker thread with its own connection; job.cancel() stops it."""
