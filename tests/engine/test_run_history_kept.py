"""A suite's timeline keeps each run's points while nothing they are read from changes
(issue 21: every open read every run back, ~3 s per 100,000-answer run): opening it again
reads no run, a rating or an answer anywhere makes it read them again, and two stores in
one process never share points."""

from __future__ import annotations

import shutil

import pytest

import desk.engine.run_history as run_history
from desk.core.response import Attempt, ResponseResult, Status
from desk.core.run_history import RunMeta, suite_history
from desk.core.suite import Case, Suite
from desk.engine.application import Application
from desk.engine.run_compare import run_facts
from desk.store import open_store

MODELS = ("m/a", "m/b")


def _answer(rid: str, trial: str, model: str, k: int) -> ResponseResult:
    return ResponseResult(id=rid, trial_id=trial, model=model, settings={}, status=Status.OK, text=f"answer {rid}",
                          started_at=1.0, first_token_at=1.1, ended_at=2.0, ttft_ms=100.0 + k, total_ms=900.0 + 7 * k,
                          cost_usd=0.001 * (1 + k % 3), attempts=[Attempt(number=1, started_at=1.0, ended_at=2.0,
                                                                          status=Status.OK)])


def _run(store, suite, prefix: str, successes: int) -> str:
    run_id = store.runs.create("suite", {"suite_id": suite.id, "suite": suite.name, "suite_version": suite.version,
                                         "cases": 4, "models": list(MODELS), "repeat": 1, "concurrency": 1,
                                         "total": 8, "settings": {}}, prefix)
    seq = 0
    for k, case in enumerate(suite.cases):
        trial = store.suites.cell_trial(run_id, case, 0)
        for model in MODELS:
            seq += 1
            rid = f"{prefix}{seq:03d}"
            store.responses.finish(_answer(rid, trial, model, seq))
            store.suites.link_response(rid, run_id, seq)
            store.ratings.save(rid, "ana", {"outcome": "success" if k < successes else "failure",
                                            "uncertainty": "confident_correct", "constraints": "na", "quality": 4})
    return run_id


@pytest.fixture()
def path(tmp_path):
    path = tmp_path / "history.db"
    with open_store(path) as store:
        suite = store.suites.save_suite(Suite("weekly", tuple(Case(f"c{k}", f"Task {k}") for k in range(4))))
        _run(store, suite, "a", 4)
        _run(store, suite, "b", 2)
    return path


@pytest.fixture()
def reads(monkeypatch):
    """The runs read back (by id) as the timeline works out their points."""
    read: list[str] = []

    def counted(suites, ratings, info, turns=None):
        read.append(info.run_id)
        return run_facts(suites, ratings, info, turns)

    monkeypatch.setattr(run_history, "run_facts", counted)
    return read


def _fresh(app) -> list:
    """The timeline worked out from scratch, as desk.core.run_history defines it."""
    suites = app.engine(warm_prices=False).suites
    runs = sorted((suites.run_info(r.run_id) for r in suites.list_runs()), key=lambda r: r.created_at)
    return suite_history([(RunMeta(r.run_id, r.created_at, r.suite_version, r.name, r.rerun_of),
                           run_facts(app.store.suites, app.store.ratings, r, app.store.turns)[1]) for r in runs])


def _success(points, model: str) -> list:
    return [p.figure("success").value for p in points if p.model == model]


def test_a_timeline_opened_again_reads_no_run(path, reads):
    app = Application.open(path)
    try:
        suites = app.engine(warm_prices=False).suites
        first = suites.history("weekly")
        assert len(reads) == 2 and first == _fresh(app)
        assert suites.history("weekly") == first and len(reads) == 2  # kept: nothing read again
        assert suites.history("weekly", model="m/b") == [p for p in first if p.model == "m/b"]
    finally:
        app.close()


def test_a_rating_makes_the_timeline_read_its_runs_again(path, reads):
    app = Application.open(path)
    try:
        suites = app.engine(warm_prices=False).suites
        before = suites.history("weekly")
        assert _success(before, "m/a") == [1.0, 0.5]
        oldest = min(suites.list_runs(), key=lambda r: r.created_at).run_id
        changed = next(cell[4] for cell in app.store.suites.cell_statuses(oldest) if cell[2] == "m/a")
        app.store.ratings.save(changed, "ana", {"outcome": "failure", "uncertainty": "confident_correct",
                                                "constraints": "na", "quality": 2})
        reads.clear()
        after = suites.history("weekly")
        assert len(reads) == 2 and after == _fresh(app) and _success(after, "m/a") == [0.75, 0.5]
    finally:
        app.close()


def test_two_copies_of_a_store_never_share_a_runs_points(path, tmp_path, reads):
    copy = tmp_path / "copy.db"
    shutil.copyfile(path, copy)
    apps = [Application.open(path), Application.open(copy)]
    try:
        # One rating in each, of the same answer but not alike: the copies' counters stay equal.
        for app, uncertainty in zip(apps, ("confident_correct", "confident_wrong"), strict=True):
            first = app.store.suites.cell_statuses(app.engine(warm_prices=False).suites.list_runs()[-1].run_id)[0]
            app.store.ratings.save(first[4], "ana", {"outcome": "failure", "uncertainty": uncertainty,
                                                     "constraints": "na", "quality": 2})
            app.engine(warm_prices=False).suites.history("weekly")
        assert apps[0].store.suites.reading_version()[2:] == apps[1].store.suites.reading_version()[2:]
        assert len(reads) == 4  # each copy read its own runs
        got = [app.engine(warm_prices=False).suites.history("weekly") for app in apps]
        assert got == [_fresh(app) for app in apps] and got[0] != got[1]
    finally:
        for app in apps:
            app.close()
