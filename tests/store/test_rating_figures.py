"""The scorecard's light rows say what the ratings and preferences they stand for say:
`figures` and `preference_figures` against `matching` and `current_preferences` (issue 21)."""

from __future__ import annotations

import pytest

from desk.core.constraint_reading import DESK_KEY, rating_figures
from desk.core.ids import new_id
from desk.core.rating import PreferenceFigures, RatingFilter
from desk.core.response import ResponseResult, Status
from desk.core.suite import AUTO_RATER
from desk.core.trial import TrialInput
from desk.store.ratings import _one_current_each

REST = {"uncertainty": "confident_correct", "constraints": "followed"}


@pytest.fixture
def filled(store):
    trial = store.trials.create(TrialInput("figures"))
    ids = []
    for k in range(6):
        r = ResponseResult(id=new_id(), trial_id=trial, model=f"p/m{k % 2}", settings={}, status=Status.OK, text="a")
        store.responses.finish(r)
        ids.append(r.id)
        store.ratings.save(r.id, "ana", {"outcome": "success", "quality": k % 5 + 1, **REST,
                                         "tags": ["X"] if k % 2 else []})
    store.ratings.save(ids[0], "ana", {"outcome": "failure", "quality": 1, **REST})  # an edit: the first one is history
    store.ratings.save(ids[1], "ben", {"outcome": "partial", "quality": 2, **REST, "tags": ["X", "y"]})
    store.suites.save_partial_rating(ids[2], AUTO_RATER, {"constraints": "violated"}, {DESK_KEY: "followed"})
    store.ratings.save_preference(ids[0], ids[1], "a", "ana")
    store.ratings.save_preference(ids[1], ids[0], "tie", "ana")  # supersedes the first, in either order
    store.ratings.save_preference(ids[2], ids[3], "b", "ben")
    return store, ids


@pytest.mark.parametrize("filters", [RatingFilter(), RatingFilter(tags=("X",)), RatingFilter(tags=("X", "y")),
                                     RatingFilter(rater="ben"), RatingFilter(since=0.0),
                                     RatingFilter(until=0.0), RatingFilter(rater=AUTO_RATER)])
def test_figures_are_the_matching_ratings(filled, filters):
    store, _ = filled
    expected = [rating_figures(r) for r in store.ratings.matching(filters)]
    assert store.ratings.figures(filters) == expected


def test_figures_hold_the_automatic_checks_reading_and_nothing_else_does(filled):
    store, ids = filled
    by_rater = {(f.response_id, f.rater): f for f in store.ratings.figures()}
    auto = by_rater[ids[2], AUTO_RATER]
    assert (auto.constraints, auto.desk_reading, auto.outcome) == ("violated", "followed", None)
    assert by_rater[ids[0], "ana"].outcome == "failure"  # the edit, not the rating it replaced
    assert {f.desk_reading for key, f in by_rater.items() if key[1] != AUTO_RATER} == {None}


@pytest.mark.parametrize("rater", [None, "ana", "ben"])
def test_preference_figures_are_the_current_preferences_in_order(filled, rater):
    store, _ = filled
    expected = [PreferenceFigures(p.response_a, p.response_b, p.winner)
                for p in store.ratings.current_preferences(rater)]
    assert store.ratings.preference_figures(rater) == expected
    assert expected


def test_figures_of_a_merged_store_rank_each_raters_rows(filled):
    """A merge can bring a second row nothing supersedes for one rater and answer: then the
    rows are ranked (a rater's own rows first) and the figures still equal `matching`'s."""
    store, ids = filled
    store.db.conn.execute(
        "INSERT INTO ratings (id, response_id, rater, rubric_id, created_at, outcome, quality, origin) "
        "SELECT ?, response_id, rater, rubric_id, created_at + 100, 'partial', 2, 'another-store' "
        "FROM ratings WHERE response_id = ? AND rater = 'ana' LIMIT 1", (new_id(), ids[3]))
    assert not _one_current_each(store.db)
    for filters in (RatingFilter(), RatingFilter(tags=("X",)), RatingFilter(rater="ana")):
        expected = [rating_figures(r) for r in store.ratings.matching(filters)]
        assert store.ratings.figures(filters) == expected
    ana = [f for f in store.ratings.figures() if f.response_id == ids[3] and f.rater == "ana"]
    assert [f.outcome for f in ana] == ["success"]  # the rater's own row, not the merged one


@pytest.mark.parametrize("merged", [False, True])
def test_figures_come_ordered_by_answer_and_rater_as_python_orders_them(filled, merged):
    # Callers rely on it and sort nothing: SQLite's order of text must be Python's, for any
    # name (UTF-8's bytes sort as its code points), on the plain read and on the ranked one.
    store, ids = filled
    for k, rater in enumerate(("Zoë", "zoe", "Émile", "日本", "ana", "Ángel", "😀", "z")):
        store.ratings.save(ids[k % len(ids)], rater, {"outcome": "success", "quality": 3, **REST})
    if merged:
        store.db.conn.execute(
            "INSERT INTO ratings (id, response_id, rater, rubric_id, created_at, outcome, quality, origin) "
            "SELECT ?, response_id, rater, rubric_id, created_at + 100, 'partial', 2, 'another-store' "
            "FROM ratings WHERE response_id = ? AND rater = 'ana' LIMIT 1", (new_id(), ids[3]))
    assert _one_current_each(store.db) is not merged
    for filters in (RatingFilter(), RatingFilter(tags=("X",)), RatingFilter(since=0.0)):
        found = store.ratings.figures(filters)
        keys = [(f.response_id, f.rater) for f in found]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)
        assert found
