"""A first scorecard runs with cyclic garbage collection paused (its full collections walk
every row it holds: 0.4 s at 100,000 answers), and resumes it after, whatever happens."""

from __future__ import annotations

import asyncio
import gc

import pytest

from desk.core.collections_paused import collections_paused
from desk.core.ids import new_id
from desk.core.rating import RatingFilter
from desk.core.response import ResponseResult, Status
from desk.core.trial import TrialInput
from desk.engine.jobs import Job
from desk.engine.session import Engine
from desk.store import open_store


class _Watching(Job):
    """A job that notes, at each step the scorecard reports, whether the collector runs."""

    def __init__(self) -> None:
        super().__init__("scorecard")
        self.collecting: list[bool] = []

    def report(self, done: int, total: int | None = None, detail: str | None = None) -> None:
        self.collecting.append(gc.isenabled())
        super().report(done, total, detail)


@pytest.fixture(autouse=True)
def _collecting():
    """Automatic collection on, as Python starts (a window's tests may leave it to the GUI
    thread's collector, desk/ui/collector.py), and left as found."""
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_a_fresh_scorecard_pauses_the_collector_and_resumes_it(tmp_path):
    store = open_store(tmp_path / "gc.db")
    try:
        trial = store.trials.create(TrialInput("t"))
        response = ResponseResult(id=new_id(), trial_id=trial, model="p/a", settings={}, status=Status.OK,
                                  text="answer", total_ms=10.0, cost_usd=0.01)
        store.responses.create(response)
        store.responses.finish(response)
        store.ratings.save(response.id, "ana", {"outcome": "success", "uncertainty": "confident_correct", "constraints": "followed", "quality": 4})
        job = _Watching()
        assert gc.isenabled()
        asyncio.run(Engine(store).ratings.scorecard_in_background(job, RatingFilter()))
        assert job.collecting and not any(job.collecting)
        assert gc.isenabled()
    finally:
        store.close()


def test_the_pause_ends_on_an_error_and_leaves_a_paused_collector_paused():
    with pytest.raises(RuntimeError), collections_paused():
        assert not gc.isenabled()
        raise RuntimeError("stop")
    assert gc.isenabled()
    gc.disable()
    try:
        with collections_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_blocks_on_two_threads_resume_collection_when_the_last_ends():
    """The collector is process-wide: one thread's block ending must not turn it back on
    under another's still building rows."""
    import threading

    from desk.core.collections_paused import under_way

    was = gc.isenabled()
    gc.enable()
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with collections_paused():
            inside.set()
            leave.wait(10)
    thread = threading.Thread(target=other)
    try:
        thread.start()
        inside.wait(10)
        with collections_paused():
            assert not gc.isenabled() and under_way()
        assert not gc.isenabled() and under_way()  # the other block is still under way
        leave.set()
        thread.join()
        assert gc.isenabled() and not under_way()
    finally:
        leave.set()
        thread.join()
        if not was:
            gc.disable()
