"""Rating answers, saying which of two is better, the rubric, and the scorecard.

The rules of a rating live here once, for the window and the CLI: who rates (the name set
in settings unless given), that nobody rates as desk's own constraint checks, and which
ratings and answers a scorecard counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

from desk.core.collections_paused import collections_paused
from desk.core.constraint_reading import DEFAULT_READING, check_reading, figures_read_as
from desk.core.conversation import TurnLink, task_figures
from desk.core.judge import JUDGE_PREFIX, is_judge
from desk.core.letting_go import let_go
from desk.core.rating import Preference, Rating, RatingFilter
from desk.core.response import ResponseFigures
from desk.core.rubric import Rubric
from desk.core.suite import AUTO_RATER
from desk.engine.cached_scorecard import cached_scorecard
from desk.engine.errors import EngineError
from desk.engine.jobs import Job
from desk.engine.ports.ratings import (
    OwnConnection,
    RatingReader,
    Ratings,
    RatingWriter,
    RubricBook,
    RubricReader,
    RubricWriter,
    ScoreSources,
)
from desk.engine.scorecard import ModelScore, Progress, compute_scorecard
from desk.store.errors import StoreError


class RatingService:
    """`saved` and `rubrics` are the stored ratings and rubric versions, to read as they are
    (`rubrics.default()` is the rubric answers are rated by);
    `scoring` is what this connection's scorecard reads, `elsewhere` runs work on a worker
    thread's own connection; `rater_name()` is the name set in settings."""

    def __init__(self, saved: Ratings, rubrics: RubricBook, scoring: ScoreSources, *,
                 rater_name: Callable[[], str | None], elsewhere: OwnConnection) -> None:
        self.saved: RatingReader = saved
        self.rubrics: RubricReader = rubrics
        self._ratings: RatingWriter = saved  # written only through the rules below
        self._rubrics: RubricWriter = rubrics
        self._scoring = scoring
        self._rater_name = rater_name
        self._elsewhere = elsewhere

    def save_rubric(self, rubric: Rubric) -> Rubric:
        """Store an edited rubric as its next version (core criteria keys cannot change)."""
        try:
            return self._rubrics.save_version(rubric)
        except StoreError as exc:
            raise EngineError(str(exc)) from None

    def save_rating(self, response_id: str, values: dict[str, Any], *, rater: str | None = None,
                    blind: bool = False, shown_order: Sequence[str] = ()) -> Rating:
        """Store a rating by `rater` (default: the name set in settings); edits keep history."""
        who = self._who(rater, "rating")
        try:
            return self._ratings.save(response_id, who, values, blind=blind, shown_order=tuple(shown_order))
        except StoreError as exc:
            raise EngineError(str(exc)) from None

    def save_preference(self, response_a: str, response_b: str, winner: str, *, reason: str = "",
                        rater: str | None = None, blind: bool = False,
                        shown_order: Sequence[str] = ()) -> Preference:
        """Store which of two answers to one trial `rater` prefers (default rater as save_rating)."""
        who = self._who(rater, "preference")
        try:
            return self._ratings.save_preference(response_a, response_b, winner, who, reason=reason,
                                              blind=blind, shown_order=tuple(shown_order))
        except StoreError as exc:
            raise EngineError(str(exc)) from None

    def _who(self, rater: str | None, what: str) -> str:
        who = rater or self._rater_name()
        if not who:
            raise EngineError(f"set your rater name first (it is stored with every {what})")
        not_the_machine(who)
        return who

    def scorecard(self, filters: RatingFilter | None = None, *, seed: int = 0,
                  constraints: str = DEFAULT_READING) -> list[ModelScore]:
        """Per-model scorecard over the stored ratings (see desk.engine.scorecard for the rules).

        With a tag or rater filter, the answers in scope are the rated ones it selects;
        otherwise every answer in the trial and date scope counts for latency and cost.
        `constraints` is the reading of the automatic constraint checks counted ("official",
        IFBench's verdict, or "desk"; desk.core.constraint_reading); a model whose figures
        count an automatic check names it in `constraint_reading`.
        """
        return self.scorecard_on(self._scoring, filters, seed=seed, constraints=constraints)

    def scorecard_on(self, sources: ScoreSources, filters: RatingFilter | None = None, *, seed: int = 0,
                     constraints: str = DEFAULT_READING) -> list[ModelScore]:
        """`scorecard` read from `sources`: this connection's, or a worker thread's own."""
        return _scorecard(sources, filters or RatingFilter(), seed, constraints=constraints)

    async def scorecard_in_background(self, job: Job, filters: RatingFilter | None = None, *,
                                      seed: int = 0, constraints: str = DEFAULT_READING) -> list[ModelScore]:
        """`scorecard` off the caller's thread (its bootstraps take seconds on a real store),
        on its own connection, reporting each step to `job`; job.cancel() stops it at the
        next step or SQL statement (JobCancelled)."""
        _reading(constraints)  # a bad choice is said here, not on the worker
        return await self._elsewhere(
            job, lambda sources: _scorecard(sources, filters or RatingFilter(), seed, job.report,
                                            constraints=constraints))


def not_the_machine(rater: str) -> None:
    """A person rating as "auto" would pass for desk's own constraint checks in every figure."""
    if rater.strip().casefold() == AUTO_RATER:
        raise EngineError(f"{AUTO_RATER!r} is the name of desk's automatic constraint checks; choose another rater name")
    if rater.strip().casefold().startswith(JUDGE_PREFIX):
        raise EngineError(f"rater names starting {JUDGE_PREFIX!r} are judge models' (desk judge); choose another rater name")


def _reading(constraints: str) -> str:
    try:
        return check_reading(constraints)
    except ValueError as exc:
        raise EngineError(str(exc)) from None


def _scorecard(sources: ScoreSources, filters: RatingFilter, seed: int, progress: Progress | None = None, *,
               constraints: str = DEFAULT_READING) -> list[ModelScore]:
    """RatingService.scorecard on `sources` (the engine's own connection, or a worker's),
    reporting its steps to `progress`. Cached in the store per (filters, seed, reading, store version)."""
    reading = _reading(constraints)
    return cached_scorecard(sources.scorecards, filters, seed, reading,
                            lambda: _fresh_scorecard(sources, filters, seed, reading, progress))


def _fresh_scorecard(sources: ScoreSources, filters: RatingFilter, seed: int, reading: str,
                     progress: Progress | None) -> list[ModelScore]:
    with collections_paused():  # its rows and figures: see desk.core.collections_paused
        return _scorecard_of(sources, filters, seed, reading, progress)


def _scorecard_of(sources: ScoreSources, filters: RatingFilter, seed: int, reading: str,
                  progress: Progress | None) -> list[ModelScore]:
    ratings = sources.ratings.figures(filters)
    # Automatic constraint verdicts are not a person's rating, nor is a judge model's: each
    # counts only when asked for by name. Asked once per rater, not per rating.
    raters = set(map(attrgetter("rater"), ratings))  # C loops over the rows here: 100,000 of them
    machines = {rater for rater in raters if rater != filters.rater and (rater == AUTO_RATER or is_judge(rater))}
    if machines:
        ratings = [rating for rating in ratings if rating.rater not in machines]
    # Automatic checks count under the chosen reading; which one, and how many could not
    # (stored before desk kept its reading), is said per model below.
    read_ids: dict[str, bool] = {}  # response id -> its reading was stored
    for i, rating in enumerate(ratings if AUTO_RATER in raters - machines else ()):
        if rating.rater == AUTO_RATER and rating.constraints:
            ratings[i], stored = figures_read_as(rating, reading)
            read_ids[rating.response_id] = read_ids.get(rating.response_id, True) and stored
    rated = set(map(attrgetter("response_id"), ratings))
    if filters.tags or filters.rater:
        responses = sources.responses.figures(ids=list(rated))
    else:
        # Load runs are synthetic traffic with figures of their own (the Load tab, desk load):
        # thousands of unrated answers would swamp the latency and cost of the rated work.
        responses = sources.responses.figures(filters, load_runs=bool(filters.trial_ids))
    # A date range selects ratings by when they were made: an answer stored before the
    # range but rated within it is in scope too.
    in_scope = set(map(attrgetter("id"), responses))
    missing = rated - in_scope
    if missing:
        earlier = sources.responses.figures(ids=[r.response_id for r in ratings if r.response_id in missing])
        responses += earlier
        in_scope.update(r.id for r in earlier)
    preferences = [p for p in sources.ratings.preference_figures(filters.rater)
                   if p.response_a in in_scope and p.response_b in in_scope]
    read: dict[str, str] = {}
    unread: Counter[str] = Counter()
    if read_ids:
        for r in responses:
            if r.id in read_ids:
                read[r.model] = reading
                unread[r.model] += not read_ids[r.id]
    # A task that took several turns succeeds (or not) once, by its last answer; every
    # turn's cost counts, and its latency is the sum of its turns'.
    responses, links = _with_earlier_turns(sources, responses)
    continued = {link.parent_response_id for link in links.values()}
    scores = compute_scorecard(task_figures(responses, links), ratings, preferences, seed=seed, progress=progress,
                               continued=continued)
    for s in scores:
        s.constraint_reading = read.get(s.model)
        if unread[s.model]:
            s.warnings.append(f"{unread[s.model]} automatic constraint check(s) stored before desk kept its "
                              f"own reading count IFBench's verdict")
    let_go(ratings, responses, rated, in_scope)  # not all at once on return (desk.core.letting_go)
    return scores


def _with_earlier_turns(sources: ScoreSources, responses: list[ResponseFigures]) -> tuple[list[ResponseFigures],
                                                                                         dict[str, TurnLink]]:
    """`responses` with every earlier turn of their conversations (a filter may have left
    out an unrated first answer whose question the rated one followed: its cost is the
    task's too), and the turn links among them."""
    ids = list(map(attrgetter("id"), responses))
    links = sources.turns.for_responses(ids)
    if not links:  # no conversation in scope: nothing earlier to fetch
        return responses, links
    have = set(ids)
    wanted = {link.parent_response_id for link in links.values()} - have
    while wanted:
        earlier = sources.responses.figures(ids=sorted(wanted))
        responses = responses + earlier
        have.update(r.id for r in earlier)
        more = sources.turns.for_responses([r.id for r in earlier])
        links.update(more)
        wanted = {link.parent_response_id for link in more.values()} - have
    return responses, links
