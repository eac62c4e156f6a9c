"""What ratings, preferences, rubrics and scorecards need from the store.

`RatingReader`/`RatingWriter` are the ratings table (desk.store.ratings), `RubricReader`/
`RubricWriter` the rubric versions, `ScorecardCache` the cached scorecards. `ScoreSources` is one connection's
view of all a scorecard reads; a worker thread opens its own (see RatingService)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from desk.core.conversation import TurnLink
from desk.core.rating import Preference, PreferenceFigures, Rating, RatingFigures, RatingFilter
from desk.core.response import ResponseFigures, ResponseResult
from desk.core.rubric import Rubric
from desk.engine.jobs import Job

T = TypeVar("T")


class TurnLookup(Protocol):
    def for_responses(self, response_ids: Sequence[str]) -> dict[str, TurnLink]:
        """The links of those of these responses that continue a conversation, by id."""

class RubricReader(Protocol):
    def default(self) -> Rubric:
        """The newest version of the default rubric (stored on first use), `id` set."""

    def get(self, rubric_id: str) -> Rubric | None: ...

    def list(self) -> list[Rubric]:
        """Every stored rubric version, by name then version."""


class RubricWriter(Protocol):
    def save_version(self, rubric: Rubric) -> Rubric:
        """Store `rubric` as the next version of its name (StoreError when it changes a core criterion)."""


class RubricBook(RubricReader, RubricWriter, Protocol):
    """The rubric versions, read and written."""


class RatingReader(Protocol):
    def current(self, response_ids: Sequence[str] | None = None, rater: str | None = None) -> list[Rating]:
        """Current ratings, oldest first; optionally only of these responses, or by this rater."""

    def history(self, response_id: str, rater: str) -> list[Rating]: ...

    def for_trial(self, trial_id: str) -> list[Rating]: ...

    def rated_responses(self, filters: RatingFilter | None = None) -> list[tuple[ResponseResult, Rating]]: ...

    def rated_response_batches(self, filters: RatingFilter | None = None, size: int = 500, *,
                               attempts: bool = True) -> Iterator[list[tuple[ResponseResult, Rating]]]: ...

    def matching(self, filters: RatingFilter | None = None) -> list[Rating]:
        """The current ratings `filters` selects, without their responses."""

    def figures(self, filters: RatingFilter | None = None) -> list[RatingFigures]:
        """`matching`'s ratings as the few values a scorecard counts, ordered by answer and rater."""

    def preference_figures(self, rater: str | None = None) -> list[PreferenceFigures]:
        """`current_preferences`, in their order, as a scorecard counts them."""

    def matching_keys(self, filters: RatingFilter | None = None) -> tuple[int, list[str]]: ...

    def current_preferences(self, rater: str | None = None, *, trial_id: str | None = None) -> list[Preference]: ...


class RatingWriter(Protocol):
    def save(self, response_id: str, rater: str, values: Mapping[str, Any], *, rubric_id: str | None = None,
             blind: bool = False, shown_order: Sequence[str] = ()) -> Rating:
        """Store a rating (StoreError listing every problem with the values); edits keep history."""

    def save_preference(self, response_a: str, response_b: str, winner: str, rater: str, *, reason: str = "",
                        blind: bool = False, shown_order: Sequence[str] = ()) -> Preference: ...


class Ratings(RatingReader, RatingWriter, Protocol):
    """The ratings table, read and written."""


class ScorecardCache(Protocol):
    def version(self) -> int:
        """A counter every change to what a scorecard reads bumps."""

    def get(self, key: str, version: int) -> str | None: ...

    def remember(self, key: str, version: int, scores_json: str) -> bool:
        """Keep the scores computed at `version` if the store is still there; whether it did."""


class ResponseFigureReader(Protocol):
    def figures(self, filters: RatingFilter | None = None, *, load_runs: bool = True,
                         ids: Sequence[str] | None = None) -> list[ResponseFigures]:
        """The responses in scope (or those among `ids`) with only their figures."""


class ScoreSources(Protocol):
    """All a scorecard reads, on one connection."""

    @property
    def responses(self) -> ResponseFigureReader: ...

    @property
    def ratings(self) -> RatingReader: ...

    @property
    def scorecards(self) -> ScorecardCache: ...

    @property
    def turns(self) -> TurnLookup: ...


class OwnConnection(Protocol):
    def __call__(self, job: Job, use: Callable[[ScoreSources], T], /) -> Awaitable[T]:
        """`use(sources)` on a worker thread with its own connection; job.cancel() stops it."""
