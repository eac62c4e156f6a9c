"""A suite run's listed counts (done, failed) are counted again only when an answer or a
run's link to a trial was written since (m020's answers_version), and kept in the store for
the next start: the Suites tab lists its runs at every visit and after each rating, and
counting a run of 100,000 answers takes 0.12 s of the window's GUI thread. What a rating,
another process's answer, a merge or a rolled-back write does to the counts is held here
against counting afresh."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from desk.core.ids import new_id
from desk.core.response import ResponseResult, Status
from desk.core.suite import Case, Suite
from desk.store import Store, open_store
from desk.store.suites import cell_counts, counted_cells

COUNTING = "count(DISTINCT r.created_at)"  # the count's own statement


def _run(store: Store, cases: int = 3) -> tuple[str, list[str]]:
    suite = store.suites.save_suite(Suite("ops", tuple(Case(f"c{k}", f"Task {k}") for k in range(cases))))
    run_id = store.runs.create("suite", {"suite_id": suite.id, "suite": "ops", "total": cases * 2,
                                         "models": ["p/a", "p/b"], "repeat": 1})
    return run_id, [store.suites.cell_trial(run_id, case, 0) for case in suite.cases]


def _answer(store: Store, trial_id: str, model: str, status: Status = Status.OK) -> str:
    r = ResponseResult(id=new_id(), trial_id=trial_id, model=model, settings={}, status=status, text="hi")
    store.responses.finish(r)
    return r.id


def _listed(store: Store, run_id: str) -> tuple[tuple[int, int], int]:
    """(done, failed) as listed, and how many times the cells were counted for it."""
    counted = []
    store.db.conn.set_trace_callback(lambda sql: counted.append(1) if COUNTING in sql else None)
    try:
        (row,) = store.suites.suite_runs(run_id=run_id)
    finally:
        store.db.conn.set_trace_callback(None)
    return (row.done, row.failed), len(counted)


def _afresh(path: Path, run_id: str) -> tuple[int, int]:
    """The counts by desk's one counting rule, from every cell's answers read now."""
    with open_store(path) as other:
        return cell_counts(counted_cells(other.suites.cell_statuses(run_id))[0])


def test_counts_are_kept_until_an_answer_changes(db_path: Path) -> None:
    with open_store(db_path) as store:
        run_id, trials = _run(store)
        ok = _answer(store, trials[0], "p/a")
        _answer(store, trials[0], "p/b", Status.ERROR)
        assert _listed(store, run_id) == ((1, 1), 1)
        assert _listed(store, run_id) == ((1, 1), 0)  # nothing written: the counts kept

        store.ratings.save(ok, "ana", {"outcome": "success", "uncertainty": "confident_correct",
                                       "constraints": "na", "quality": 4})
        assert _listed(store, run_id) == ((1, 1), 0)  # a rating changes no count

        _answer(store, trials[0], "p/b")  # the failed cell answered again, ok
        assert _listed(store, run_id) == ((2, 0), 1)
        _answer(store, trials[1], "p/a", Status.ERROR)
        assert _listed(store, run_id) == ((2, 1), 1) and _afresh(db_path, run_id) == (2, 1)


def test_another_connections_answer_and_a_merge_are_counted(db_path: Path, tmp_path: Path) -> None:
    with open_store(db_path) as store, open_store(db_path) as writer:
        run_id, trials = _run(store)
        assert _listed(store, run_id) == ((0, 0), 1)
        _answer(writer, trials[2], "p/a")  # another process's desk, say
        assert _listed(store, run_id) == ((1, 0), 1)

    with open_store(tmp_path / "theirs.db") as theirs, open_store(db_path) as store:
        their_run, their_trials = _run(theirs, cases=2)
        _answer(theirs, their_trials[0], "p/a")
        _answer(theirs, their_trials[1], "p/b", Status.ERROR)
        assert _listed(store, run_id)[0] == (1, 0)
        store.merge_from(theirs.path)
        assert _listed(store, their_run) == ((1, 1), 1)
        assert _listed(store, run_id)[0] == (1, 0)


def test_counts_read_inside_a_rolled_back_write_are_not_kept(db_path: Path) -> None:
    with open_store(db_path) as store:
        run_id, trials = _run(store)
        conn = store.db.conn
        conn.execute("BEGIN")
        _answer(store, trials[0], "p/a")
        assert _listed(store, run_id)[0] == (1, 0)  # seen inside the write, not kept
        conn.execute("ROLLBACK")
        _answer(store, trials[1], "p/b", Status.ERROR)  # the version moves on to where it was
        assert _listed(store, run_id) == ((0, 1), 1) and _afresh(db_path, run_id) == (0, 1)


def test_counts_kept_in_the_store_serve_the_next_start_and_a_busy_store_never_waits(db_path: Path) -> None:
    with open_store(db_path) as store:
        run_id, trials = _run(store)
        _answer(store, trials[0], "p/a")
        assert _listed(store, run_id) == ((1, 0), 1)
    with open_store(db_path) as store:  # the next start: counted by the last one
        assert _listed(store, run_id) == ((1, 0), 0)

    with open_store(db_path) as store, open_store(db_path) as writer:
        _answer(writer, trials[1], "p/b", Status.ERROR)
        writer.db.conn.execute("BEGIN IMMEDIATE")  # another process mid-write: the store is busy
        try:
            started = time.monotonic()
            assert _listed(store, run_id) == ((1, 1), 1)  # counted, not kept: no wait for the lock
            assert time.monotonic() - started < 2
        finally:
            writer.db.conn.execute("ROLLBACK")
    with open_store(db_path) as store:
        assert _listed(store, run_id) == ((1, 1), 1)  # counted again, and kept this time
    with open_store(db_path) as store:
        assert _listed(store, run_id) == ((1, 1), 0) and _afresh(db_path, run_id) == (1, 1)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"
