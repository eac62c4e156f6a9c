"""A big suite run's matrix read off the GUI thread (issue 21: 1.8 s at 100,000 answers,
which the Suites tab would otherwise spend frozen, every few seconds while the run streams)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QObject

from desk.engine.jobs import Job, JobCancelled
from desk.engine.session import EngineError, SuiteMatrix
from desk.engine.suites_tab import SuitesTab
from desk.ui.collector import handed_over


class MatrixReads:
    """Reads the open run's matrix, a big run's on a worker thread, and hands it to `show`
    once read, if that run is still the open one and the view still there. A read under way
    for the open run is let finish (the next one waits for it); one for another run is cancelled."""

    def __init__(self, owner: QObject, tab: SuitesTab, show: Callable[[SuiteMatrix | None], object],
                 error: Callable[[str], object], note: Callable[[str], object]) -> None:
        # `owner`: the view `show` draws in; a read that ends after it is gone shows nothing.
        self._owner, self.tab, self._show, self._error, self._note = owner, tab, show, error, note
        self.task: asyncio.Future[None] | None = None  # the read under way, for tests to await
        self._reading: tuple[str | None, Job] | None = None

    def reload(self) -> bool:
        """Read the open run's matrix and show it: here, or for a big run off the GUI thread
        (shown once read). False when there is none to show, or it could not be read here."""
        if self.tab.reads_slowly():
            self.read()
            return True
        try:
            matrix = self.tab.read_matrix()
        except EngineError as exc:
            self._error(str(exc))
            return False
        return bool(self._show(matrix))

    def read(self) -> None:
        run_id = self.tab.current_run_id
        if self._reading is not None:
            if self._reading[0] == run_id:
                return
            self._reading[1].cancel()  # another run's: it has nowhere to go now
        job = Job("Run matrix")
        self._reading = (run_id, job)
        self._note("Reading the run's answers…")
        self.task = asyncio.ensure_future(self._read(job, run_id))

    async def _read(self, job: Job, run_id: str | None) -> None:
        with handed_over():  # the collector waits for the cells and freezes them once shown
            started = time.monotonic()
            try:
                matrix = await self.tab.read_matrix_in_background(job)
            except JobCancelled:
                return
            except EngineError as exc:
                if self._current(job, run_id):
                    self._reading = None
                    self._error(str(exc))
                return
            if not self._current(job, run_id):
                return  # another run was opened meanwhile: its own read shows it
            self._reading = None
            self.tab.reloaded(started, time.monotonic() - started)  # a live run's next read waits its turn
            self._show(matrix)

    def _current(self, job: Job, run_id: str | None) -> bool:
        return (shiboken6.isValid(self._owner) and self._reading is not None and self._reading[1] is job
                and self.tab.current_run_id == run_id)
