from __future__ import annotations

import dataclasses
import time

import pytest

from desk.core.ids import new_id
from desk.core.rating import Rating, RatingFilter
from desk.core.response import Attempt, ErrorKind, ResponseResult, Status, Usage
from desk.core.rubric import DEFAULT_RUBRIC, Criterion, Option, Rubric
from desk.core.trial import TrialInput
from desk.store import Store, StoreError

GOOD = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "followed", "quality": 5}
BAD = {"outcome": "failure", "uncertainty": "confident_wrong", "constraints": "violated", "quality": 1}


def _answer(store: Store, trial_id: str, model: str = "p/m", *, failed: bool = False) -> ResponseResult:
    t0 = time.time()
    result = ResponseResult(
        id=new_id(),
        trial_id=trial_id,
        model=model,
        settings={},
        status=Status.ERROR if failed else Status.OK,
        error_kind=ErrorKind.SERVER_ERROR if failed else None,
        text="" if failed else "an answer",
        started_at=t0,
        usage=Usage(input_tokens=10, output_tokens=5),
        cost_usd=0.001,
        attempts=[Attempt(number=1, started_at=t0, status=Status.OK, cost_usd=0.001)],
    )
    store.responses.finish(result)
    return result


def _trial(store: Store, n: int = 2, prompt: str = "hi") -> tuple[str, list[ResponseResult]]:
    trial_id = store.trials.create(TrialInput(prompt))
    return trial_id, [_answer(store, trial_id, f"p/m{i}") for i in range(n)]


def _count(store: Store, table: str) -> int:
    return store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _set_created_at(store: Store, rating: Rating, when: float) -> None:
    store.db.execute("UPDATE ratings SET created_at = ? WHERE id = ?", (when, rating.id))


def test_rating_round_trip(store: Store) -> None:
    _, (r1, r2) = _trial(store)
    values = {**GOOD, "note": "cites the right clause", "tags": [" legal ", "contracts", "legal", ""]}
    saved = store.ratings.save(r1.id, " ana ", values, blind=True, shown_order=(r2.id, r1.id))
    assert saved.rater == "ana"
    assert saved.values == {**GOOD, "note": "cites the right clause", "tags": ["legal", "contracts"]}
    assert saved.rubric_id == store.rubrics.default().id
    assert saved.blind is True and saved.shown_order == (r2.id, r1.id) and saved.supersedes is None
    assert (saved.outcome, saved.quality, saved.tags, saved.note) == (
        "success",
        5,
        ("legal", "contracts"),
        "cites the right clause",
    )

    assert store.ratings.current() == [saved]
    assert store.ratings.current([r1.id]) == [saved]
    assert store.ratings.current([r2.id]) == []
    assert store.ratings.current([]) == []
    assert store.ratings.current(rater="bob") == []

    row = store.db.execute(
        "SELECT outcome, uncertainty, constraints, quality, note, tags_json, extra_json, blind FROM ratings"
    ).fetchone()
    assert row == (
        "success",
        "confident_correct",
        "followed",
        5,
        "cites the right clause",
        '["legal", "contracts"]',
        "{}",
        1,
    )


def test_optional_fields_may_be_left_out(store: Store) -> None:
    _, (r1, _) = _trial(store)
    saved = store.ratings.save(r1.id, "ana", {**GOOD, "note": "", "tags": ()})
    assert saved.values == GOOD
    assert store.ratings.current() == [saved]
    assert (saved.note, saved.tags, saved.blind, saved.shown_order) == ("", (), False, ())


def test_invalid_ratings_write_nothing(store: Store) -> None:
    _, (r1, _) = _trial(store)
    with pytest.raises(StoreError) as info:
        store.ratings.save(
            r1.id, "ana", {"outcome": "great", "quality": 7, "tags": "legal", "mood": "happy", "note": 3}
        )
    message = str(info.value)
    for part in (
        "Outcome",
        "'great'",
        "Uncertainty handling: not set",
        "from 1 to 5",
        "mood",
        "Tags",
        "Note",
    ):
        assert part in message
    with pytest.raises(StoreError, match="Quality: must be a whole number"):
        store.ratings.save(r1.id, "ana", {**GOOD, "quality": True})
    with pytest.raises(StoreError, match="no response missing"):
        store.ratings.save("missing", "ana", GOOD)
    with pytest.raises(StoreError, match="no rubric nope"):
        store.ratings.save(r1.id, "ana", GOOD, rubric_id="nope")
    with pytest.raises(StoreError, match="rater"):
        store.ratings.save(r1.id, "  ", GOOD)
    assert _count(store, "ratings") == 0


def test_editing_keeps_history(store: Store) -> None:
    trial_id, (r1, r2) = _trial(store)
    first = store.ratings.save(r1.id, "ana", GOOD)
    second = store.ratings.save(r1.id, "ana", {**GOOD, "quality": 3, "note": "on reflection"})
    bob = store.ratings.save(r1.id, "bob", BAD)
    other = store.ratings.save(r2.id, "ana", BAD)

    assert second.supersedes == first.id and bob.supersedes is None and other.supersedes is None
    assert second.created_at > first.created_at
    assert store.ratings.history(r1.id, "ana") == [first, second]
    assert store.ratings.history(r1.id, "bob") == [bob]
    assert _count(store, "ratings") == 4
    assert store.ratings.current() == [second, bob, other]
    assert store.ratings.current(rater="ana") == [second, other]
    assert store.ratings.current([r1.id]) == [second, bob]
    assert store.ratings.for_trial(trial_id) == [second, bob, other]
    assert store.ratings.for_trial("missing") == []

    third = store.ratings.save(r1.id, "ana", BAD)
    assert third.supersedes == second.id
    assert [r.id for r in store.ratings.history(r1.id, "ana")] == [first.id, second.id, third.id]


def test_a_forked_history_counts_the_newest(store: Store) -> None:
    """Two edits of one rating made in two stores, then merged: the newer one is current."""
    _, (r1, _) = _trial(store)
    first = store.ratings.save(r1.id, "ana", GOOD)
    mine = store.ratings.save(r1.id, "ana", {**GOOD, "quality": 4})
    theirs = dataclasses.replace(mine, id=new_id(), created_at=mine.created_at + 5, values=BAD)
    store.db.execute(
        "INSERT INTO ratings (id, response_id, rater, rubric_id, created_at, outcome, uncertainty, "
        "constraints, quality, supersedes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (theirs.id, r1.id, "ana", mine.rubric_id, theirs.created_at, *BAD.values(), first.id),
    )
    assert [r.id for r in store.ratings.current()] == [theirs.id]
    assert store.ratings.save(r1.id, "ana", GOOD).supersedes == theirs.id


def test_deleting_a_trial_deletes_its_ratings_and_preferences(store: Store) -> None:
    trial_id, (r1, r2) = _trial(store)
    store.ratings.save(r1.id, "ana", GOOD)
    store.ratings.save(r1.id, "ana", BAD)
    store.ratings.save_preference(r1.id, r2.id, "a", "ana")
    assert store.trials.delete(trial_id)
    assert _count(store, "ratings") == 0 and _count(store, "preferences") == 0


def test_preferences(store: Store) -> None:
    trial_id, (r1, r2, r3) = _trial(store, 3)
    first = store.ratings.save_preference(
        r1.id, r2.id, "a", "ana", reason="shorter", blind=True, shown_order=(r2.id, r1.id)
    )
    assert (first.winner, first.reason, first.blind, first.shown_order) == (
        "a",
        "shorter",
        True,
        (r2.id, r1.id),
    )
    assert store.ratings.current_preferences() == [first]

    # The same pair in the other order, by the same rater, replaces the first judgement.
    again = store.ratings.save_preference(r2.id, r1.id, "tie", "ana")
    bob = store.ratings.save_preference(r1.id, r2.id, "both_bad", "bob")
    other_pair = store.ratings.save_preference(r1.id, r3.id, "b", "ana")
    assert store.ratings.current_preferences() == [again, bob, other_pair]
    assert store.ratings.current_preferences("ana") == [again, other_pair]
    assert store.ratings.current_preferences(trial_id=trial_id) == [again, bob, other_pair]
    assert store.ratings.current_preferences(trial_id="missing") == []
    supersedes = store.db.execute("SELECT supersedes FROM preferences WHERE id = ?", (again.id,)).fetchone()[
        0
    ]
    assert supersedes == first.id
    assert _count(store, "preferences") == 4


def test_preference_errors(store: Store) -> None:
    _, (r1, r2) = _trial(store)
    _, (elsewhere, _) = _trial(store, prompt="another task")
    with pytest.raises(StoreError, match="different trials"):
        store.ratings.save_preference(r1.id, elsewhere.id, "a", "ana")
    with pytest.raises(StoreError, match="winner 'left'"):
        store.ratings.save_preference(r1.id, r2.id, "left", "ana")
    with pytest.raises(StoreError, match="two different answers"):
        store.ratings.save_preference(r1.id, r1.id, "a", "ana")
    with pytest.raises(StoreError, match="no response missing"):
        store.ratings.save_preference(r1.id, "missing", "a", "ana")
    with pytest.raises(StoreError, match="rater"):
        store.ratings.save_preference(r1.id, r2.id, "a", "")
    assert _count(store, "preferences") == 0


def test_default_rubric_is_stored_once_under_a_fixed_id(store: Store) -> None:
    assert store.rubrics.list() == []
    rubric = store.rubrics.default()
    assert rubric == dataclasses.replace(DEFAULT_RUBRIC, id=rubric.id)
    assert rubric.id is not None and len(rubric.id) == 26
    assert store.rubrics.default() == rubric
    assert store.rubrics.list() == [rubric]
    assert store.rubrics.get(rubric.id) == rubric
    assert store.rubrics.get("missing") is None


def _relabel(rubric: Rubric, key: str, label: str) -> Rubric:
    criteria = tuple(dataclasses.replace(c, label=label) if c.key == key else c for c in rubric.criteria)
    return dataclasses.replace(rubric, criteria=criteria)


def test_rubric_versions(store: Store) -> None:
    v1 = store.rubrics.default()
    _, (r1, _) = _trial(store)
    old_rating = store.ratings.save(r1.id, "ana", GOOD)

    v2 = store.rubrics.save_version(_relabel(v1, "outcome", "Did it work?"))
    assert (v2.name, v2.version) == ("default", 2) and v2.id not in (None, v1.id)
    assert v2.criterion("outcome").label == "Did it work?"
    assert store.rubrics.default() == v2
    assert store.rubrics.save_version(v2) == v2  # nothing changed: no new version

    # Adding a criterion is fine; its values are kept with the rating.
    extra = Criterion("sources", "Sources cited", "choice", (Option("yes", "Yes"), Option("no", "No")))
    v3 = store.rubrics.save_version(dataclasses.replace(v2, criteria=(*v2.criteria, extra)))
    assert v3.version == 3
    rated = store.ratings.save(r1.id, "ana", {**GOOD, "sources": "yes"})
    assert rated.rubric_id == v3.id and rated.values["sources"] == "yes"
    assert store.db.execute("SELECT extra_json FROM ratings WHERE id = ?", (rated.id,)).fetchone()[0] == (
        '{"sources": "yes"}'
    )
    assert store.ratings.current() == [rated]
    with pytest.raises(StoreError, match="Sources cited: not set"):
        store.ratings.save(r1.id, "bob", GOOD)
    assert store.ratings.save(r1.id, "bob", GOOD, rubric_id=v1.id).rubric_id == v1.id

    # Old ratings keep the version they were made under.
    assert store.rubrics.get(old_rating.rubric_id) == v1
    assert [(r.name, r.version) for r in store.rubrics.list()] == [
        ("default", 1),
        ("default", 2),
        ("default", 3),
    ]


def test_core_criteria_cannot_change_meaning(store: Store) -> None:
    v1 = store.rubrics.default()
    without = dataclasses.replace(v1, criteria=tuple(c for c in v1.criteria if c.key != "uncertainty"))
    with pytest.raises(StoreError, match="'uncertainty' cannot be removed"):
        store.rubrics.save_version(without)
    outcome = v1.criterion("outcome")
    renamed = dataclasses.replace(outcome, options=(Option("done", "Done"), *outcome.options[1:]))
    changed = dataclasses.replace(v1, criteria=(renamed, *v1.criteria[1:]))
    with pytest.raises(StoreError, match="options of core criterion 'outcome'"):
        store.rubrics.save_version(changed)
    wider = tuple(dataclasses.replace(c, high=10) if c.key == "quality" else c for c in v1.criteria)
    with pytest.raises(StoreError, match="scale from 1 to 5"):
        store.rubrics.save_version(dataclasses.replace(v1, criteria=wider))
    twice = dataclasses.replace(v1, criteria=(*v1.criteria, v1.criteria[0]))
    with pytest.raises(StoreError, match="appears twice"):
        store.rubrics.save_version(twice)
    # A rubric under a new name still needs the core criteria.
    with pytest.raises(StoreError, match="'outcome' cannot be removed"):
        store.rubrics.save_version(Rubric("mine", 1, (Criterion("note", "Note", "text"),)))
    # Hints may change: only the meaning of the keys is fixed.
    hinted = tuple(
        dataclasses.replace(c, options=tuple(dataclasses.replace(o, hint="new hint") for o in c.options))
        for c in v1.criteria
    )
    assert store.rubrics.save_version(dataclasses.replace(v1, criteria=hinted)).version == 2
    assert store.rubrics.save_version(dataclasses.replace(DEFAULT_RUBRIC, name="mine")).version == 1
    assert [(r.name, r.version) for r in store.rubrics.list()] == [
        ("default", 1),
        ("default", 2),
        ("mine", 1),
    ]


def test_settings(store: Store) -> None:
    assert store.settings.get("rater_name") is None
    store.settings.set("rater_name", "Ana")
    store.settings.set("rater_name", "Ana B.")
    assert store.settings.get("rater_name") == "Ana B."
    store.settings.set("rater_name", None)
    assert store.settings.get("rater_name") is None
    with pytest.raises(StoreError, match="secret"):
        store.settings.set("openai_api_key", "x")
    with pytest.raises(StoreError, match="API key"):
        store.settings.set("note", "sk-proj-abcdefghijklmnop")
    assert _count(store, "settings") == 0


def test_rating_filter(store: Store) -> None:
    t1, (a, b) = _trial(store)
    t2, (c,) = _trial(store, 1, prompt="second task")
    ra = store.ratings.save(a.id, "ana", {**GOOD, "tags": ["legal", "hard"]})
    rb = store.ratings.save(b.id, "ana", {**BAD, "tags": ["legal"]})
    rc = store.ratings.save(c.id, "bob", {**GOOD, "tags": ["hard"]})
    rb_bob = store.ratings.save(b.id, "bob", GOOD)
    for rating, when in ((ra, 1000.0), (rb, 2000.0), (rc, 3000.0), (rb_bob, 4000.0)):
        _set_created_at(store, rating, when)

    def ids(f: RatingFilter | None = None) -> list[tuple[str, str]]:
        return [(resp.id, rating.rater) for resp, rating in store.ratings.rated_responses(f)]

    # Ordered by response, then rater.
    assert ids() == [(a.id, "ana"), (b.id, "ana"), (b.id, "bob"), (c.id, "bob")]
    assert ids(RatingFilter(tags=("legal",))) == [(a.id, "ana"), (b.id, "ana")]
    assert ids(RatingFilter(tags=("legal", "hard"))) == [(a.id, "ana")]
    assert ids(RatingFilter(tags=("nope",))) == []
    assert ids(RatingFilter(rater="bob")) == [(b.id, "bob"), (c.id, "bob")]
    assert ids(RatingFilter(since=2000.0, until=4000.0)) == [(b.id, "ana"), (c.id, "bob")]
    assert ids(RatingFilter(trial_ids=(t2,))) == [(c.id, "bob")]
    assert ids(RatingFilter(trial_ids=(t1,), rater="ana", tags=("hard",))) == [(a.id, "ana")]

    pairs = store.ratings.rated_responses(RatingFilter(rater="bob", trial_ids=(t2,)))
    assert pairs[0][0] == c and pairs[0][0].attempts[0].cost_usd == 0.001
    assert pairs[0][1].values == {**GOOD, "tags": ["hard"]}

    # An edit made after `until` hides the older one: the filter applies to current ratings.
    store.ratings.save(a.id, "ana", GOOD)
    assert ids(RatingFilter(until=5000.0, rater="ana")) == [(b.id, "ana")]


def test_all_responses_include_failures_and_attempts(store: Store) -> None:
    t1, (a,) = _trial(store, 1)
    failed = _answer(store, t1, "p/broken", failed=True)
    t2, (c,) = _trial(store, 1, prompt="later")
    store.db.execute("UPDATE responses SET created_at = 100 WHERE id = ?", (a.id,))
    store.db.execute("UPDATE responses SET created_at = 200 WHERE id = ?", (failed.id,))
    store.db.execute("UPDATE responses SET created_at = 300 WHERE id = ?", (c.id,))

    everything = store.responses.all()
    assert everything == [a, failed, c]
    assert everything[1].status is Status.ERROR and everything[1].attempts[0].cost_usd == 0.001
    assert [r.id for r in store.responses.all(RatingFilter(trial_ids=(t1,)))] == [a.id, failed.id]
    assert [r.id for r in store.responses.all(RatingFilter(since=200, until=300))] == [failed.id]
    assert [r.id for r in store.responses.all(RatingFilter(trial_ids=(t2,), since=0))] == [c.id]
