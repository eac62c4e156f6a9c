"""Suites in the store: migration m005, versions, attachments, run links, merging, auto ratings."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from desk.core.attachment import attachment_from_bytes
from desk.core.ids import new_id
from desk.core.response import ResponseResult, Status
from desk.core.suite import Case, Constraint, Suite
from desk.core.trial import TrialInput
from desk.store import Store, StoreError, open_store
from desk.store.migrations import MIGRATIONS, applied_migrations, migrate
from tests.store.conftest import tiny_png


def _cases() -> tuple[Case, ...]:
    png = attachment_from_bytes("chart.png", tiny_png())
    csv = attachment_from_bytes("data.csv", b"a,b\n1,2\n")
    return (
        Case("q1", "Which quarter?", system="be brief", expect="clarify", tags=("churn",), notes="ask",
             attachments=(png, csv), source="ours", upstream_id="U1", clarification="Q3, by revenue."),
        Case("q2", "Three words.", expect="follow_constraints",
             constraints=(Constraint("count:word_count_range", {"min_words": 3, "max_words": 3}),)),
    )


def test_m005_creates_the_suite_tables() -> None:
    db = Database(memory=True)
    migrate(db, MIGRATIONS)
    assert "m005_suites" in applied_migrations(db)
    assert db.table("suites").columns_dict == {
        "id": str, "name": str, "version": int, "created_at": float, "source": str, "sha256": str}
    assert set(db.table("suite_cases").columns_dict) == {
        "id", "suite_id", "position", "case_ref", "prompt", "system", "expect", "tags_json", "notes",
        "constraints_json", "source", "upstream_id",
        "tools_json", "tool_results_json", "expected_call_json",  # m012: a case's tool use
        "clarification"}  # m014
    assert db.table("suite_case_attachments").pks == ["case_id", "position"]
    assert db.table("suite_run_trials").pks == ["run_id", "case_id", "sample"]
    unique = [i.columns for i in db.table("suites").indexes if i.unique]
    assert ["name", "version"] in unique
    # An older store upgrades in place: m001-m004 first, then m005 alone.
    old = Database(memory=True)
    migrate(old, MIGRATIONS[:4])
    assert migrate(old, MIGRATIONS[:5]) == ["m005_suites"] and migrate(old, MIGRATIONS[:5]) == []


def test_reimport_makes_a_new_version_and_keeps_the_old(store: Store) -> None:
    suites = store.suites
    first = suites.save_suite(Suite("ops", _cases(), source="ops.jsonl"))
    second = suites.save_suite(Suite("ops", _cases()[:1]))
    assert (first.version, second.version) == (1, 2)
    assert [(s.name, s.version, s.cases) for s in suites.list_suites()] == [("ops", 2, 1)]
    assert [(s.version, s.cases) for s in suites.list_suites(all_versions=True)] == [(1, 2), (2, 1)]
    newest, old = suites.get_suite("ops"), suites.get_suite("ops", 1)
    assert newest is not None and old is not None
    assert newest.id == second.id and old.id == first.id and old.source == "ops.jsonl"
    # Every field comes back exactly, attachments with their bytes.
    q1, q2 = old.cases
    want = _cases()
    assert (q1.key, q1.prompt, q1.system, q1.expect, q1.tags, q1.notes, q1.source, q1.upstream_id) == (
        "q1", "Which quarter?", "be brief", "clarify", ("churn",), "ask", "ours", "U1")
    assert [(a.name, a.data, a.kind, a.width) for a in q1.attachments] == [
        (a.name, a.data, a.kind, a.width) for a in want[0].attachments]
    assert q1.attachments[1].text == "a,b\n1,2\n"
    assert q2.constraints == want[1].constraints and q2.position == 1
    assert q1.id and q1.id != q2.id
    assert suites.get_suite("nope") is None and suites.get_suite("ops", 9) is None


def test_stable_ids_make_the_same_rows_in_two_stores(tmp_path: Path) -> None:
    with open_store(tmp_path / "a.db") as a, open_store(tmp_path / "b.db") as b:
        sa = a.suites.save_suite(Suite("starter", _cases()), sha256="ab" * 32, stable_ids=True)
        sb = b.suites.save_suite(Suite("starter", _cases()), sha256="ab" * 32, stable_ids=True)
        assert sa.id == sb.id and [c.id for c in sa.cases] == [c.id for c in sb.cases]
        assert a.suites.find_suite_file("starter", "ab" * 32).id == sa.id  # type: ignore[union-attr]
        report = a.merge_from(b.path)
        assert report.added["suites"] == 0 and report.added["suite_cases"] == 0
        with pytest.raises(StoreError):
            a.suites.save_suite(Suite("x", _cases()), stable_ids=True)


def test_a_case_keeps_its_attachment_when_the_trials_using_it_are_deleted(store: Store) -> None:
    suites = store.suites
    suite = suites.save_suite(Suite("ops", _cases()))
    run_id = store.runs.create("suite", {"suite_id": suite.id, "total": 2})
    trial_id = suites.cell_trial(run_id, suite.cases[0], 0)
    assert suites.cell_trial(run_id, suite.cases[0], 0) == trial_id  # one trial per (case, sample)
    assert store.trials.get(trial_id).input.attachments == suite.cases[0].attachments  # type: ignore[union-attr]
    assert store.trials.delete(trial_id)
    assert suites.run_trials(run_id) == []  # the link goes with the trial
    again = suites.get_suite("ops")
    assert again is not None and again.cases[0].attachments[0].data == tiny_png()


def _answer(store: Store, trial_id: str, model: str, status: Status = Status.OK) -> ResponseResult:
    r = ResponseResult(id=new_id(), trial_id=trial_id, model=model, settings={}, status=status, text="hi")
    store.responses.finish(r)
    return r


def test_run_cells_counts_and_state(store: Store) -> None:
    suites = store.suites
    suite = suites.save_suite(Suite("ops", _cases()))
    run_id = store.runs.create("suite", {"suite_id": suite.id, "suite": "ops", "total": 4,
                                        "models": ["p/a", "p/b"], "repeat": 1})
    t1 = suites.cell_trial(run_id, suite.cases[0], 0)
    t2 = suites.cell_trial(run_id, suite.cases[1], 0)
    ok = _answer(store, t1, "p/a")
    failed = _answer(store, t1, "p/b", Status.ERROR)
    _answer(store, t2, "p/a")
    suites.link_response(ok.id, run_id, 0)
    with pytest.raises(StoreError):
        suites.link_response("nope", run_id, 0)
    (row,) = suites.suite_runs(run_id=run_id, active=[run_id])
    assert (row.done, row.total, row.failed, row.state) == (2, 4, 1, "running")
    assert [(c.case_id, c.sample, c.response.id) for c in suites.run_cells(run_id)][:2] == [
        (suite.cases[0].id, 0, ok.id), (suite.cases[0].id, 0, failed.id)]
    # Not sending any more (no task of this process holds it): interrupted; done is done.
    assert suites.suite_runs(run_id=run_id)[0].state == "interrupted"
    store.runs.finish(run_id, "cancelled", {})
    assert suites.suite_runs(run_id=run_id, active=[run_id])[0].state == "interrupted"
    suites.claim_run(run_id)
    assert suites.suite_runs(run_id=run_id, active=[run_id])[0].state == "running"
    store.runs.finish(run_id, "done", {})
    assert suites.suite_runs()[0].state == "done"
    with pytest.raises(StoreError):
        suites.claim_run("nope")


def test_a_dead_writer_leaves_its_run_interrupted(db_path: Path) -> None:
    with open_store(db_path) as store:
        run_id = store.runs.create("suite", {"total": 1})
        store.db.execute("UPDATE runs SET writer_pid = 999999999 WHERE id = ?", (run_id,))
        assert store.suites.suite_runs()[0].state == "interrupted"
    with open_store(db_path) as store:  # opening marks it, like a crashed load run
        assert store.runs.get(run_id).status == "interrupted"  # type: ignore[union-attr]


def test_partial_ratings_judge_only_what_they_name(store: Store) -> None:
    trial = store.trials.create(TrialInput("task"))
    answer = _answer(store, trial, "p/a")
    suites = store.suites
    with pytest.raises(StoreError, match="Hard constraints"):
        suites.save_partial_rating(answer.id, "auto", {"constraints": "maybe"})
    first = suites.save_partial_rating(answer.id, "auto", {"constraints": "violated", "note": "2 words"})
    second = suites.save_partial_rating(answer.id, "auto", {"constraints": "followed", "note": "3/3"})
    assert second.supersedes == first.id
    (current,) = store.ratings.current([answer.id])
    assert current.values == {"constraints": "followed", "note": "3/3"} and current.rater == "auto"
    with pytest.raises(StoreError, match="no response"):
        suites.save_partial_rating("nope", "auto", {"constraints": "followed"})


def test_merge_brings_suites_and_runs_and_renumbers_a_clashing_version(tmp_path: Path) -> None:
    with open_store(tmp_path / "a.db") as a, open_store(tmp_path / "b.db") as b:
        sa, sb = a.suites, b.suites
        ours = sa.save_suite(Suite("ops", _cases()))
        theirs = sb.save_suite(Suite("ops", _cases()[:1]))
        run_id = b.runs.create("suite", {"suite_id": theirs.id, "total": 1})
        trial = sb.cell_trial(run_id, theirs.cases[0], 0)
        _answer(b, trial, "p/a")
        report = a.merge_from(b.path)
        assert report.added["suites"] == 1 and report.added["suite_cases"] == 1
        assert report.added["suite_case_attachments"] == 2 and report.added["suite_run_trials"] == 1
        assert any("suite 'ops' version 1" in c for c in report.conflicts)
        assert [(s.id, s.version) for s in sa.list_suites(all_versions=True)] == [(ours.id, 1), (theirs.id, 2)]
        assert sa.suite_runs()[0].done == 1
        assert a.merge_from(b.path).total == 0


def test_a_broken_merge_source_adds_nothing(tmp_path: Path) -> None:
    with open_store(tmp_path / "b.db") as b:
        b.suites.save_suite(Suite("ops", _cases()))
    raw = sqlite3.connect(tmp_path / "b.db")
    raw.execute("PRAGMA foreign_keys = OFF")
    raw.execute("DELETE FROM suites")
    raw.commit()
    raw.close()
    with open_store(tmp_path / "a.db") as a:
        with pytest.raises(StoreError, match="inconsistent"):
            a.merge_from(tmp_path / "b.db")
        assert a.suites.list_suites(all_versions=True) == []
