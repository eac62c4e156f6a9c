"""Long work off the caller's thread, with progress and cancel (exports, merges).

The work runs on a worker thread with its own store connection (SQLite connections stay on
the thread that made them), so the window's event loop keeps running. The worker reports
into a `Job`, plain Python under a lock, which the caller polls: a worker thread must never
call into Qt. Cancelling sets an event the work checks between steps and SQLite checks
between statements (`Store.cancellable`); a cancelled export leaves no file and a
cancelled merge keeps the short batches it committed (merging again completes it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from desk.engine.errors import EngineError
from desk.store.errors import StoreError

T = TypeVar("T")


class JobCancelled(Exception):
    """The user cancelled; nothing was written."""


@dataclass
class Job:
    """What a worker is doing, how far it got, and whether it should stop."""

    label: str
    done: int = 0
    total: int | None = None  # None: no measure of the whole (shown as busy)
    detail: str = ""
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def report(self, done: int, total: int | None = None, detail: str | None = None) -> None:
        """Worker side: progress so far; raises JobCancelled once cancel() was called."""
        with self._lock:
            self.done = done
            if total is not None:
                self.total = total
            if detail is not None:
                self.detail = detail
        self.check()

    def check(self) -> None:
        if self._cancel.is_set():
            raise JobCancelled(f"{self.label}: cancelled")

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def snapshot(self) -> tuple[int, int | None, str]:
        """Caller side: (done, total, detail), consistent with each other."""
        with self._lock:
            return self.done, self.total, self.detail


class OwnConnection(Protocol):
    def cancellable(self, cancelled: Callable[[], bool]) -> AbstractContextManager[None]: ...

    def close(self) -> None: ...


C = TypeVar("C", bound=OwnConnection)


async def on_own_connection(open_connection: Callable[[], C], job: Job, use: Callable[[C], T]) -> T:
    """`use(store)` on a worker thread with its own connection to the store (a SQLite
    connection stays on the thread that made it); SQLite stops mid-statement once the
    job is cancelled, and that "interrupted" is reported as the cancel it is."""
    import asyncio  # on first use: a command that runs no event loop (a scorecard) never loads it

    def work() -> T:
        job.check()  # cancelled before it started (a cached scorecard needs no SQL to stop)
        store = open_connection()
        try:
            with store.cancellable(lambda: job.cancelled):
                return use(store)
        except StoreError as exc:
            job.check()
            raise EngineError(str(exc)) from None
        finally:
            store.close()

    return await asyncio.to_thread(work)
