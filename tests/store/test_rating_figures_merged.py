"""The scorecard's reads take the rows nothing supersedes as the current ones, and rank a
rater's rows only where a merge left two: a tag filter's figures probe only the tagged rows
for such a pair, the preferences check their pairs (issue 21)."""

from __future__ import annotations

from desk.core.constraint_reading import rating_figures
from desk.core.ids import new_id
from desk.core.rating import RatingFilter
from desk.core.response import ResponseResult, Status
from desk.core.trial import TrialInput

REST = {"uncertainty": "confident_correct", "constraints": "followed"}


def _merged_rating(store, response_id: str, created_at: float, outcome: str, tags_json: str) -> None:
    rubric = store.rubrics.default().id
    store.db.conn.execute(
        "INSERT INTO ratings (id, response_id, rater, rubric_id, created_at, outcome, quality, tags_json, origin) "
        "VALUES (?, ?, 'cleo', ?, ?, ?, 3, ?, 'another-store')",
        (new_id(), response_id, rubric, created_at, outcome, tags_json))


def test_a_tagged_row_a_newer_merged_row_replaces_is_left_out(store):
    trial = store.trials.create(TrialInput("merged"))
    ids = []
    for k in range(3):
        r = ResponseResult(id=new_id(), trial_id=trial, model=f"p/m{k}", settings={}, status=Status.OK, text="a")
        store.responses.finish(r)
        ids.append(r.id)
        store.ratings.save(r.id, "ana", {"outcome": "success", "quality": 4, **REST, "tags": ["X"]})
    # Two rows of one colleague nothing supersedes, both merged: the newer one counts, and it has no tag.
    _merged_rating(store, ids[1], 10.0, "failure", '["X"]')
    _merged_rating(store, ids[1], 20.0, "partial", "[]")
    _merged_rating(store, ids[2], 10.0, "partial", '["X"]')  # alone of its pair: current, tagged
    tagged = RatingFilter(tags=("X",))
    expected = [rating_figures(r) for r in store.ratings.matching(tagged)]
    found = store.ratings.figures(tagged)
    assert sorted(found) == sorted(expected)
    assert {(f.rater, f.outcome) for f in found if f.response_id == ids[1]} == {("ana", "success")}
    assert {(f.rater, f.outcome) for f in found if f.response_id == ids[2]} == {("ana", "success"), ("cleo", "partial")}


def test_tagged_figures_without_a_merge_are_the_matching_ratings(store):
    trial = store.trials.create(TrialInput("plain"))
    for k in range(4):
        r = ResponseResult(id=new_id(), trial_id=trial, model=f"p/m{k % 2}", settings={}, status=Status.OK, text="a")
        store.responses.finish(r)
        store.ratings.save(r.id, "ana", {"outcome": "success", "quality": k + 1, **REST, "tags": ["X"] if k % 2 else []})
        store.ratings.save(r.id, "ana", {"outcome": "partial", "quality": 2, **REST, "tags": ["X"] if k < 2 else []})  # an edit
    tagged = RatingFilter(tags=("X",))
    expected = [rating_figures(r) for r in store.ratings.matching(tagged)]
    assert sorted(store.ratings.figures(tagged)) == sorted(expected)
    assert len(expected) == 2


def test_preference_figures_rank_a_merged_second_preference_of_a_pair(store):
    """A merge may leave a rater two preferences of one pair that nothing supersedes: the
    rater's own counts, as in current_preferences, in its order."""
    from desk.core.rating import PreferenceFigures

    trial = store.trials.create(TrialInput("prefs"))
    ids = []
    for k in range(4):
        r = ResponseResult(id=f"p{k}", trial_id=trial, model=f"p/m{k}", settings={}, status=Status.OK, text="a")
        store.responses.finish(r)
        ids.append(r.id)
    store.ratings.save_preference(ids[0], ids[1], "a", "ana")
    store.ratings.save_preference(ids[2], ids[3], "b", "ana")
    plain = store.ratings.preference_figures()
    assert plain == [PreferenceFigures(ids[0], ids[1], "a"), PreferenceFigures(ids[2], ids[3], "b")]
    store.db.conn.execute(  # the same rater's name in another store, the pair in the other order, newer
        "INSERT INTO preferences (id, response_a, response_b, winner, rater, created_at, origin) "
        "VALUES (?, ?, ?, 'tie', 'ana', 1e12, 'another-store')", (new_id(), ids[1], ids[0]))
    for rater in (None, "ana"):
        expected = [PreferenceFigures(p.response_a, p.response_b, p.winner)
                    for p in store.ratings.current_preferences(rater)]
        assert store.ratings.preference_figures(rater) == expected == plain
