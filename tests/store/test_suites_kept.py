"""A suite version read back is kept in memory for every connection of the process (a big
run's every read back needs its suite: 16,667 cases took 0.1-0.2 s each time), as a
version's cases never change once stored; a store's versions are its own, and a suite a
merge brought under another version number is read as this store has it."""

from __future__ import annotations

from pathlib import Path

from desk.core.suite import Case, Suite
from desk.store import open_store


def _cases(n: int) -> tuple[Case, ...]:
    return tuple(Case(f"c{k}", f"Task {k}", tags=("t",)) for k in range(n))


def test_a_suite_is_read_once_then_kept_for_every_connection(tmp_path: Path) -> None:
    with open_store(tmp_path / "a.db") as store, open_store(tmp_path / "a.db") as worker:
        saved = store.suites.save_suite(Suite("ops", _cases(3)))
        statements: list[str] = []
        worker.db.conn.set_trace_callback(statements.append)
        first = worker.suites.get_suite_by_id(saved.id)
        assert first == saved and any("suite_cases" in s for s in statements)
        statements.clear()
        with open_store(tmp_path / "a.db") as fresh:  # another connection: a worker's next read
            fresh.db.conn.set_trace_callback(statements.append)
            assert fresh.suites.get_suite_by_id(saved.id) == saved
        assert not any("suite_cases" in s for s in statements)
        assert worker.suites.get_suite_by_id("no-such-suite") is None


def test_each_store_reads_its_own_version_of_a_suite(tmp_path: Path) -> None:
    """Two stores may hold one suite id under different version numbers (a merge renumbers
    a clashing version): neither is given the other's."""
    with open_store(tmp_path / "a.db") as a, open_store(tmp_path / "b.db") as b:
        ours = a.suites.save_suite(Suite("ops", _cases(2)))
        theirs = b.suites.save_suite(Suite("ops", _cases(1)))
        run_id = b.runs.create("suite", {"suite_id": theirs.id, "total": 1})
        b.suites.cell_trial(run_id, theirs.cases[0], 0)
        assert b.suites.get_suite_by_id(theirs.id).version == 1
        a.merge_from(b.path)
        merged = a.suites.get_suite_by_id(theirs.id)
        assert merged is not None and merged.version == 2 and merged.cases == theirs.cases
        assert b.suites.get_suite_by_id(theirs.id).version == 1
        assert a.suites.get_suite_by_id(ours.id).version == 1
