"""The scorecard reads only the few columns it needs, once: at 100,000 answers the text
and the attempts are most of the store (see tests/bench/bench_store.py for the times)."""

from __future__ import annotations

import pytest

from desk.core.ids import new_id
from desk.core.rating import RatingFilter
from desk.core.response import Attempt, ResponseResult, Status, Usage
from desk.core.trial import TrialInput
from desk.engine.session import Engine
from desk.store import open_store

RUBRIC_REST = {"uncertainty": "confident_correct", "constraints": "followed"}


@pytest.fixture
def engine(tmp_path):
    store = open_store(tmp_path / "reads.db")
    eng = Engine(store)
    yield eng
    store.close()


def _fill(store) -> None:
    for t in range(4):
        trial = store.trials.create(TrialInput(f"task {t}"))
        ids = []
        for model in ("p/a", "p/b"):
            r = ResponseResult(id=new_id(), trial_id=trial, model=model, settings={}, status=Status.OK,
                               text="a long answer " * 100, total_ms=100.0 + t, cost_usd=0.01,
                               usage=Usage(10, 5),
                               attempts=[Attempt(number=1, started_at=1.0, status=Status.OK, cost_usd=0.01)])
            store.responses.finish(r)
            ids.append(r.id)
            store.ratings.save(r.id, "ana", {"outcome": "success", "quality": 4, **RUBRIC_REST,
                                            "tags": ["X"] if t % 2 else []})
        store.ratings.save_preference(ids[0], ids[1], "a", "ana")


@pytest.mark.parametrize("filters", [RatingFilter(), RatingFilter(tags=("X",)), RatingFilter(since=0.0)])
def test_scorecard_reads_neither_text_nor_attempts(engine, filters):
    _fill(engine.store)
    statements: list[str] = []
    engine.store.db.conn.set_trace_callback(statements.append)
    try:
        scores = engine.ratings.scorecard(filters)
    finally:
        engine.store.db.conn.set_trace_callback(None)
    assert [s.model for s in scores] == ["p/a", "p/b"]
    assert scores[0].n_rated == (2 if filters.tags else 4) and scores[0].pairwise_games == (2 if filters.tags else 4)
    reads = [s for s in statements if "FROM responses" in s and "SELECT" in s.upper()]
    assert reads, statements
    for sql in reads:
        # only an interrupted answer's text is read: whether any arrived decides if it failed
        assert "SELECT *" not in sql and ("text" not in sql or "status = 'interrupted'" in sql), sql
    assert not [s for s in statements if "FROM attempts" in s]
    # Every response of the scope is read once (the rated ones are not read a second time).
    assert len([s for s in reads if "WHERE id IN" in s]) <= (1 if filters.tags else 0)


def test_the_answers_figures_are_read_from_an_index_alone(engine):
    # The covering index (m018) holds every column read: the rows' texts stay on disk.
    _fill(engine.store)
    statements: list[str] = []
    engine.store.db.conn.set_trace_callback(statements.append)
    try:
        engine.store.responses.figures(RatingFilter(), load_runs=False)
    finally:
        engine.store.db.conn.set_trace_callback(None)
    bulk = [s for s in statements if "ORDER BY created_at" in s or "GROUP BY created_at" in s]  # the read, its tie check
    assert len(bulk) == 2, statements
    for statement in bulk:
        plan = " ".join(row[3] for row in engine.store.db.conn.execute(f"EXPLAIN QUERY PLAN {statement}"))
        assert "COVERING INDEX idx_responses_figures" in plan, plan
