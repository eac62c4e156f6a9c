"""Work that can wait a moment, run one job per turn of the event loop.

When eight streams end together, each answer's markdown layout and rating panel cost
5-40 ms; run back to back they froze the window for a quarter of a second. Queued here,
the loop paints, lays out and reads input between any two of them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from shiboken6 import isValid

_jobs: deque[tuple[QObject, Callable[[], object]]] = deque()
_soon: deque[tuple[QObject, Callable[[], object]]] = deque()  # run before any of `_jobs`
_idle: list[asyncio.Future[None]] = []
_timer: QTimer | None = None


def later(owner: QObject, job: Callable[[], object], soon: bool = False) -> None:
    """Run `job` on a coming turn of the event loop, after the jobs queued before it (with
    `soon`, ahead of every job queued without it); dropped if `owner` (the widget it works
    on) is deleted by then."""
    global _timer
    if _timer is None:
        _timer = QTimer()
        _timer.setInterval(0)  # a zero timer fires once per pass, after posted events and painting
        _timer.timeout.connect(_run_one)
    (_soon if soon else _jobs).append((owner, job))
    _timer.start()


def pending() -> int:
    return len(_soon) + len(_jobs)


async def idle() -> None:
    """Return once every job queued so far (and since) has run."""
    if not pending():
        return
    # get_event_loop, not get_running_loop: qasync may step a task from Qt's own event
    # processing, outside run_until_complete, where no loop counts as running
    done: asyncio.Future[None] = asyncio.get_event_loop().create_future()
    _idle.append(done)
    await done


def _run_one() -> None:
    while _soon or _jobs:
        owner, job = (_soon or _jobs).popleft()
        if isValid(owner):
            try:
                job()
            finally:
                _settle()
            return
    _settle()


def _settle() -> None:
    if pending():
        return
    if _timer is not None:
        _timer.stop()
    while _idle:
        done = _idle.pop()
        if not done.done():
            done.set_result(None)
