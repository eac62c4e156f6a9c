"""The scorecard reads each current rating and preference as a light row, never as a
Rating or Preference object (at 100,000 answers building them took seconds), and its
figures are those computed from the objects (issue 21)."""

from __future__ import annotations

import pytest

import desk.store.ratings as rating_table
from desk.core.ids import new_id
from desk.core.rating import RatingFilter
from desk.core.response import ResponseResult, Status
from desk.core.trial import TrialInput
from desk.engine.scorecard import compute_scorecard
from desk.engine.session import Engine
from desk.store import open_store

REST = {"uncertainty": "confident_correct", "constraints": "followed"}


@pytest.fixture
def engine(tmp_path):
    store = open_store(tmp_path / "light.db")
    eng = Engine(store)
    yield eng
    store.close()


def _fill(store) -> None:
    for t in range(12):
        trial = store.trials.create(TrialInput(f"task {t}"))
        ids = []
        for k, model in enumerate(("p/a", "p/b", "p/c")):
            failed = (t + k) % 7 == 0
            r = ResponseResult(id=new_id(), trial_id=trial, model=model, settings={},
                               status=Status.ERROR if failed else Status.OK, text="" if failed else "an answer",
                               total_ms=100.0 + 13 * t + k, cost_usd=None if t == 5 else 0.001 * (t + k + 1))
            store.responses.finish(r)
            ids.append(r.id)
            values = {"outcome": "failure"} if failed else {
                "outcome": ("success", "partial", "failure")[(t * k) % 3], "quality": (t + k) % 5 + 1, **REST}
            store.ratings.save(r.id, "ana", {**values, "tags": ["X"] if t % 3 else []})
            if t % 2 and not failed:
                store.ratings.save(r.id, "ben", {**values, "outcome": "success", "quality": (t * k) % 5 + 1})
        store.ratings.save_preference(ids[0], ids[1 + t % 2], ("a", "b", "tie")[t % 3], "ana")


@pytest.mark.parametrize("filters", [RatingFilter(), RatingFilter(tags=("X",)), RatingFilter(rater="ben")])
def test_scorecard_builds_no_rating_or_preference(engine, monkeypatch, filters):
    store = engine.store
    _fill(store)
    with monkeypatch.context() as patched:
        def refuse(*args, **kwargs):
            raise AssertionError("the scorecard built a Rating or a Preference")
        patched.setattr(rating_table, "_rating", refuse)
        patched.setattr(rating_table, "Preference", refuse)
        light = [s.as_json() for s in engine.ratings.scorecard(filters)]
    ratings = store.ratings.matching(filters)
    rated = {r.response_id for r in ratings}
    answers = [r for r in store.responses.all() if r.id in rated] if filters.tags or filters.rater \
        else store.responses.all()
    in_scope = {r.id for r in answers}
    preferences = [p for p in store.ratings.current_preferences(filters.rater)
                   if p.response_a in in_scope and p.response_b in in_scope]
    assert light == [s.as_json() for s in compute_scorecard(answers, ratings, preferences)]
    assert light and any(s["agreement"] for s in light) == (filters == RatingFilter())
