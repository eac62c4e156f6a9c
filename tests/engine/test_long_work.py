"""Exports and merges off the caller's thread: progress reported, and a cancel mid-way
leaves no file (export) or keeps the batches already merged (merge)."""

from __future__ import annotations

import asyncio

import pytest

from desk.core.trial import TrialInput
from desk.engine.jobs import Job, JobCancelled
from desk.engine.services.exports import ExportParams, RunExportParams
from desk.engine.session import Engine
from desk.store.db import open_store
from tests.engine.test_export import fx  # noqa: F401  (the rated fixture store)


class CancelAt(Job):
    """A user who presses Cancel when the work reports its `at`-th step."""

    def __init__(self, label: str, at: int) -> None:
        super().__init__(label)
        self.at, self.calls = at, 0
        self.seen: list[tuple[int, int | None, str]] = []

    def report(self, done: int, total: int | None = None, detail: str | None = None) -> None:
        self.calls += 1
        self.seen.append((done, total, detail or ""))
        if self.calls >= self.at:
            self.cancel()
        super().report(done, total, detail)


def test_export_reports_progress_and_writes_the_file(fx, tmp_path):  # noqa: F811
    out = tmp_path / "ratings.csv"
    job = Job("export")

    async def go():
        async with Engine(fx.store) as engine:
            return await engine.exports.export_in_background(ExportParams("csv", str(out)), job)

    result = asyncio.run(go())
    assert result.rows == 4 and out.exists()
    assert job.snapshot() == (4, 4, "written")


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "pairs"])
def test_export_cancelled_mid_way_leaves_no_file_and_keeps_an_old_one(fx, tmp_path, fmt):  # noqa: F811
    out = tmp_path / f"ratings.{fmt}"
    out.write_text("yesterday's export\n")
    job = CancelAt("export", at=1)

    async def go():
        async with Engine(fx.store) as engine:
            return await engine.exports.export_in_background(ExportParams(fmt, str(out)), job)

    with pytest.raises(JobCancelled):
        asyncio.run(go())
    assert out.read_text() == "yesterday's export\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp file left


def _other_store(tmp_path, n: int):
    path = tmp_path / "other.db"
    other = open_store(path)
    for i in range(n):
        other.trials.create(TrialInput(f"a colleague's trial {i}"))
    other.close()
    return path


def test_merge_reports_each_table_and_a_cancel_keeps_what_was_copied(tmp_path):
    other = _other_store(tmp_path, 25)
    store = open_store(tmp_path / "mine.db")

    async def merge(job):
        async with Engine(store) as engine:
            return await engine.exports.merge_in_background(str(other), job)

    job = CancelAt("merge", at=2)  # after blobs: at trials, before any is copied
    with pytest.raises(JobCancelled):
        asyncio.run(merge(job))
    assert [table for _, _, table in job.seen] == ["blobs", "trials"]
    assert store.trials.list() == []

    job = CancelAt("merge", at=3)  # after the trials: a merge in short batches keeps them
    with pytest.raises(JobCancelled):
        asyncio.run(merge(job))
    assert len(store.trials.list()) == 25

    whole = Job("merge")
    report = asyncio.run(merge(whole))  # completes it, with no duplicate
    assert report.added["trials"] == 0 and len(store.trials.list()) == 25
    done, total, table = whole.snapshot()
    assert total == done + 1 and table == "calibration_draws"  # the last table a merge copies
    store.close()


@pytest.mark.parametrize("fmt", ["csv", "http-jsonl"])
def test_a_runs_export_runs_off_the_callers_thread_and_cancels_cleanly(providers, vendor, tmp_path, fmt):
    import threading

    from desk.core.load import LoadStep
    from desk.engine import export_runs as export
    from desk.engine.load import LoadPlan
    from tests.engine.conftest import engine_for, ref

    plan = LoadPlan(models=(ref("openai"),), inputs=(TrialInput("hi"),), steps=(LoadStep(2, 3),), warmup=False)
    threads: list[str] = []
    real = export.run_request_rows if fmt == "csv" else export.run_attempt_rows

    def spy(store, run_id):
        threads.append(threading.current_thread().name)
        return real(store, run_id)

    out = tmp_path / "run.out"

    async def go(job):
        async with engine_for(providers) as engine:
            run_id = (await engine.loads.run(plan)).run_id
            return await engine.exports.export_run_in_background(
                RunExportParams(run_id, fmt.removeprefix("http-"), str(out), per_http_request=fmt.startswith("http-")), job)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(export, "run_request_rows" if fmt == "csv" else "run_attempt_rows", spy)
        assert asyncio.run(go(Job("export"))).rows == 3 and out.exists()
        assert threads and threading.main_thread().name not in threads
        out.write_text("yesterday's export\n")
        with pytest.raises(JobCancelled):
            asyncio.run(go(CancelAt("export", at=1)))
    assert out.read_text() == "yesterday's export\n"
