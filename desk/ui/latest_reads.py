"""A dialog's reads off the GUI thread (issue 21: a big run's figures take seconds to read):
the last read of each kind wins, and one that ends after its dialog was closed or deleted
shows nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import shiboken6
from PySide6.QtCore import QObject

from desk.engine.jobs import Job, JobCancelled
from desk.engine.session import EngineError
from desk.ui.collector import handed_over

R = TypeVar("R")


class LatestReads:
    """`busy(True)` when a read starts, `busy(False)` when none is left under way."""

    def __init__(self, owner: QObject, busy: Callable[[bool], object] = lambda busy: None) -> None:
        self._owner, self._busy = owner, busy
        self._jobs: dict[str, Job] = {}  # by kind: the read under way
        self._tasks: dict[str, asyncio.Future[None]] = {}  # by kind: the last read started

    def start(self, what: str, read: Callable[[Job], Awaitable[R]], show: Callable[[R], object],
              failed: Callable[[str], object]) -> None:
        """`read` on a worker thread; `show` its result, or `failed` its error's one line,
        unless a later read of `what` replaced it or the owner is gone. A read of `what`
        under way is cancelled: the last one wins."""
        if what in self._jobs:
            self._jobs[what].cancel()
        job = self._jobs[what] = Job(what)
        self._busy(True)

        async def wait() -> None:
            with handed_over():  # the collector waits for what is read and freezes it once shown
                try:
                    result = await read(job)
                except JobCancelled:
                    return
                except EngineError as exc:
                    if self._ended(what, job):
                        failed(str(exc))
                    return
                if self._ended(what, job):
                    show(result)
        self._tasks[what] = asyncio.ensure_future(wait())

    def under_way(self) -> bool:
        return bool(self._jobs)

    async def settled(self) -> None:
        """Once every read started has ended (shown, failed, replaced or cancelled)."""
        while any(not task.done() for task in self._tasks.values()):
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    def cancel(self) -> None:
        """Nobody is left to show what the reads under way find: each is stopped."""
        for job in self._jobs.values():
            job.cancel()
        self._jobs.clear()

    def _ended(self, what: str, job: Job) -> bool:
        """Whether `job` is still the read of `what` to show (and its owner still there)."""
        if not shiboken6.isValid(self._owner) or self._jobs.get(what) is not job:
            return False
        del self._jobs[what]
        if not self._jobs:
            self._busy(False)
        return True
