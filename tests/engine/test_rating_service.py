"""RatingService built from the store's tables alone (no Engine): who may rate, the rubric's
rule, and the background scorecard on the worker connection it is given."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable
from typing import TypeVar

import pytest

from desk.core.ids import new_id
from desk.core.rating import RatingFilter
from desk.core.response import ResponseResult, Status
from desk.core.trial import TrialInput
from desk.engine.errors import EngineError
from desk.engine.jobs import Job
from desk.engine.ports.ratings import ScoreSources
from desk.engine.services.ratings import RatingService
from desk.store import Store, open_store

T = TypeVar("T")
GOOD = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "followed", "quality": 4}


def _answers(store: Store) -> tuple[str, str]:
    trial = store.trials.create(TrialInput("a question"))
    ids = []
    for model in ("p/a", "p/b"):
        r = ResponseResult(id=new_id(), trial_id=trial, model=model, settings={}, status=Status.OK,
                           text="answer", total_ms=100.0)
        store.responses.finish(r)
        ids.append(r.id)
    return ids[0], ids[1]


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "rate.db") as s:
        yield s


def _service(store: Store, name: str | None = "ana", worker_threads: list[int] | None = None) -> RatingService:
    async def elsewhere(job: Job, use: Callable[[ScoreSources], T]) -> T:
        def work() -> T:
            (worker_threads if worker_threads is not None else []).append(threading.get_ident())
            with open_store(store.path) as own:
                return use(own)

        return await asyncio.to_thread(work)

    return RatingService(store.ratings, store.rubrics, store, rater_name=lambda: name, elsewhere=elsewhere)


@pytest.mark.parametrize("who", ["auto", " AUTO ", "Auto"])
def test_nobody_rates_or_prefers_as_the_automatic_checks(store, who):
    a, b = _answers(store)
    ratings = _service(store)
    with pytest.raises(EngineError, match="automatic constraint checks; choose another rater name"):
        ratings.save_rating(a, GOOD, rater=who)
    with pytest.raises(EngineError, match="automatic constraint checks"):
        ratings.save_preference(a, b, "a", rater=who)
    with pytest.raises(EngineError, match="automatic constraint checks"):  # the name set in settings too
        _service(store, name=who).save_rating(a, GOOD)
    assert store.ratings.current() == [] and store.ratings.current_preferences() == []


def test_the_rater_is_the_name_set_unless_given_and_one_is_needed(store):
    a, b = _answers(store)
    assert _service(store).save_rating(a, GOOD).rater == "ana"
    assert _service(store).save_rating(a, GOOD, rater="bo").rater == "bo"
    with pytest.raises(EngineError, match=r"set your rater name first .* every rating"):
        _service(store, name=None).save_rating(b, GOOD)
    with pytest.raises(EngineError, match=r"set your rater name first .* every preference"):
        _service(store, name="").save_preference(a, b, "a")
    with pytest.raises(EngineError, match="rating not saved"):  # the store's refusal, as EngineError
        _service(store).save_rating(b, {"outcome": "nonsense"})
    assert [(r.response_id, r.rater) for r in store.ratings.current()] == [(a, "ana"), (a, "bo")]


def test_a_rubric_that_changes_a_core_criterion_is_refused_as_engine_error(store):
    ratings = _service(store)
    rubric = ratings.rubrics.default()
    dropped = dataclasses.replace(rubric, criteria=tuple(c for c in rubric.criteria if c.key != "quality"))
    with pytest.raises(EngineError, match="core criterion 'quality' cannot be removed"):
        ratings.save_rubric(dropped)
    assert [r.version for r in ratings.rubrics.list()] == [rubric.version]


def test_the_background_scorecard_runs_on_the_worker_it_is_given_and_equals_the_foreground_one(store):
    a, b = _answers(store)
    ratings = _service(store, worker_threads=(threads := []))
    ratings.save_rating(a, GOOD)
    ratings.save_rating(b, {**GOOD, "outcome": "failure"})
    ratings.save_preference(a, b, "a")
    job = Job("scorecard")
    behind = asyncio.run(ratings.scorecard_in_background(job, RatingFilter(rater="ana")))
    assert threads and threads[0] != threading.get_ident()
    assert [(s.model, s.successes, s.pairwise_games) for s in behind] == [("p/a", 1, 1), ("p/b", 0, 1)]
    assert behind == ratings.scorecard(RatingFilter(rater="ana"))
    with pytest.raises(EngineError, match="constraint"):  # a bad reading is said before the worker starts
        asyncio.run(ratings.scorecard_in_background(Job("x"), constraints="nonsense"))
    assert len(threads) == 1


def test_the_engine_rebuilds_its_rating_service_on_the_store_it_switches_to(tmp_path):
    from desk.engine.session import Engine

    first = open_store(tmp_path / "first.db")
    engine = Engine(first)
    try:
        engine.switch_store(str(tmp_path / "second.db"))
        a, _ = _answers(engine.store)
        rating = engine.ratings.save_rating(a, GOOD, rater="ana")
        assert engine.ratings.saved.current([a]) == [rating]
        assert [s.model for s in engine.ratings.scorecard()] == ["p/a", "p/b"]
    finally:
        engine.store.close()
    with open_store(tmp_path / "first.db") as old:
        assert old.ratings.current() == []
