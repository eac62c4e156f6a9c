"""The scorecard cached in the store (issue 21): a second open reads one row, and a cached
result is never the figures of another state of the store."""

from __future__ import annotations

import json
import re
import sqlite3
import time

import pytest

from desk.core.ids import new_id
from desk.core.rating import RatingFilter
from desk.core.response import Attempt, ResponseResult, Status, Usage
from desk.core.trial import TrialInput
from desk.engine.services import ratings as rating_service
from desk.engine.session import Engine
from desk.store import StoreError, open_store

ALL = RatingFilter()
REST = {"uncertainty": "confident_correct", "constraints": "followed"}


def _answer(store, trial: str, model: str, total_ms: float) -> str:
    r = ResponseResult(id=new_id(), trial_id=trial, model=model, settings={}, status=Status.OK,
                       text="an answer", total_ms=total_ms, cost_usd=0.01, usage=Usage(10, 5),
                       attempts=[Attempt(number=1, started_at=1.0, status=Status.OK, cost_usd=0.01)])
    store.responses.finish(r)
    return r.id


def _fill(store, rater: str = "ana", n: int = 8) -> list[str]:
    ids = []
    for t in range(n):
        trial = store.trials.create(TrialInput(f"task {t}"))
        a, b = _answer(store, trial, "p/a", 100.0 + t), _answer(store, trial, "p/b", 200.0 + 3 * t)
        store.ratings.save(a, rater, {"outcome": "success" if t % 3 else "failure", "quality": 4, **REST,
                                     "tags": ["X"] if t % 2 else []})
        store.ratings.save(b, rater, {"outcome": "partial", "quality": 3, **REST})
        store.ratings.save_preference(a, b, "a" if t % 2 else "b", rater)
        ids += [a, b]
    return ids


def _figures(scores) -> str:
    return json.dumps([s.as_json() for s in scores], sort_keys=True)


def _fresh(engine: Engine, filters: RatingFilter = ALL, seed: int = 0) -> str:
    """The scorecard computed without the cache."""
    return _figures(rating_service._fresh_scorecard(engine.store, filters, seed, "official", None))


def _reads_responses(engine: Engine, filters: RatingFilter = ALL) -> tuple[str, bool]:
    statements: list[str] = []
    engine.store.db.conn.set_trace_callback(statements.append)
    try:
        scores = engine.ratings.scorecard(filters)
    finally:
        engine.store.db.conn.set_trace_callback(None)
    return _figures(scores), any("FROM responses" in s or "FROM ratings" in s for s in statements)


@pytest.fixture
def engine(tmp_path):
    store = open_store(tmp_path / "cache.db")
    yield Engine(store)
    store.close()


@pytest.mark.parametrize("filters", [RatingFilter(), RatingFilter(tags=("X",)), RatingFilter(rater="ana")])
def test_a_second_scorecard_is_read_back_and_equals_a_fresh_one(engine, filters):
    _fill(engine.store)
    first, computed = _reads_responses(engine, filters)
    second, recomputed = _reads_responses(engine, filters)
    assert computed and not recomputed  # the second one came from the cache
    assert first == second == _fresh(engine, filters)
    # The key holds the filters and the seed: another of either is computed, not mixed up.
    other, computed = _reads_responses(engine, RatingFilter(tags=("nope",)))
    assert computed and other != first
    assert _figures(engine.ratings.scorecard(filters, seed=1)) == _fresh(engine, filters, seed=1)


def _changes(engine: Engine, change) -> None:
    before, _ = _reads_responses(engine)
    _reads_responses(engine)  # cached now
    change()
    after, computed = _reads_responses(engine)
    assert computed, "a change to the store must not be answered from the cache"
    assert after != before
    assert after == _fresh(engine)


def test_a_changed_rating_changes_the_scorecard(engine):
    ids = _fill(engine.store)
    _changes(engine, lambda: engine.store.ratings.save(ids[0], "ana", {"outcome": "success", "quality": 1, **REST}))


def test_a_new_answer_changes_the_scorecard(engine):
    _fill(engine.store)
    trial = engine.store.trials.create(TrialInput("one more"))
    _changes(engine, lambda: _answer(engine.store, trial, "p/a", 9999.0))


def test_a_new_preference_and_a_deleted_trial_change_the_scorecard(engine):
    ids = _fill(engine.store)
    _changes(engine, lambda: engine.store.ratings.save_preference(ids[2], ids[3], "b", "ana"))
    victim = engine.store.db.conn.execute("SELECT trial_id FROM responses WHERE id = ?", (ids[0],)).fetchone()[0]
    _changes(engine, lambda: engine.store.trials.delete(victim))


def test_a_merge_changes_the_scorecard_and_brings_no_cache(tmp_path, engine):
    _fill(engine.store)
    with open_store(tmp_path / "theirs.db") as theirs:
        _fill(theirs, rater="bob", n=4)
        Engine(theirs).ratings.scorecard()  # their store holds a cached scorecard of its own
    _changes(engine, lambda: engine.store.merge_from(tmp_path / "theirs.db"))
    assert engine.store.db.conn.execute("SELECT count(*) FROM scorecard_cache").fetchone()[0] == 1


def test_a_write_from_another_connection_is_seen(tmp_path, engine):
    ids = _fill(engine.store)
    with open_store(engine.store.path) as other:
        _changes(engine, lambda: other.ratings.save(ids[1], "ana", {"outcome": "failure", "quality": 2, **REST}))


def test_a_result_computed_while_the_store_changed_is_not_kept(engine):
    ids = _fill(engine.store)
    version = engine.store.scorecards.version()
    engine.store.ratings.save(ids[0], "ana", {"outcome": "failure", "quality": 1, **REST})
    assert engine.store.scorecards.version() > version
    assert not engine.store.scorecards.remember("k", version, "[]")
    assert engine.store.scorecards.get("k", version) is None


def test_a_merged_file_may_carry_desks_triggers_but_no_other_under_their_names(tmp_path):
    path = tmp_path / "theirs.db"
    with open_store(path) as theirs:
        _fill(theirs, rater="bob", n=2)
    with open_store(tmp_path / "mine.db") as mine:
        assert mine.merge_from(path).added["ratings"] == 4
    raw = sqlite3.connect(path)
    raw.execute("DROP TRIGGER ratings_version_insert")
    raw.execute("CREATE TRIGGER ratings_version_insert AFTER INSERT ON ratings BEGIN DELETE FROM ratings; END")
    raw.commit()
    raw.close()
    with open_store(tmp_path / "mine2.db") as mine:
        with pytest.raises(StoreError, match=re.escape("its trigger 'ratings_version_insert' differs")):
            mine.merge_from(path)


def test_every_scored_table_bumps_the_version(tmp_path):
    from desk.store.migrations import SCORED_TABLES

    with open_store(tmp_path / "v.db") as store:
        triggers = {r[0] for r in store.db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        for table in SCORED_TABLES:
            assert {f"{table}_version_{e}" for e in ("insert", "update", "delete")} <= triggers


def test_an_m009_store_upgrades_and_its_cache_follows_its_writes(tmp_path):
    from desk.store.db import connect

    path = tmp_path / "old.db"
    with open_store(path) as store:
        ids = _fill(store)
    db = connect(path)  # back to the layout before m010, data kept
    for table in ("scorecard_cache", "store_version"):
        db.execute(f"DROP TABLE {table}")
    for (name,) in db.conn.execute("SELECT name FROM sqlite_master WHERE name LIKE '%_version_%'").fetchall():
        db.execute(f"DROP TRIGGER {name}")
    db.execute("DELETE FROM _desk_migrations WHERE name = 'm010_store_version'")
    db.close()
    with open_store(path) as store:
        assert store.scorecards.version() == 0
        engine = Engine(store)
        _changes(engine, lambda: store.ratings.save(ids[0], "ana", {"outcome": "failure", "quality": 1, **REST}))


def test_a_store_locked_by_another_writer_still_answers_at_once(engine):
    _fill(engine.store)
    other = sqlite3.connect(engine.store.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process mid-write holds the lock
        started = time.monotonic()
        first, computed = _reads_responses(engine)
        assert time.monotonic() - started < 3.0  # not the 5 s busy_timeout writes wait
        assert computed and first == _fresh(engine)
        assert engine.store.db.conn.execute("SELECT count(*) FROM scorecard_cache").fetchone()[0] == 0
        assert engine.store.db.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000  # as it was
    finally:
        other.execute("ROLLBACK")
        other.close()
    _reads_responses(engine)
    assert not _reads_responses(engine)[1]  # cached once the lock is free
