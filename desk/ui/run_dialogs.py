"""A suite run's dialogs beside the Suites tab: its rating queue, its scorecard and the
comparison with the suite's other runs, one of each open at a time (opening another closes
the last)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import shiboken6
from PySide6.QtWidgets import QDialog, QInputDialog, QWidget

from desk.engine.jobs import Job, JobCancelled
from desk.engine.session import Engine, EngineError
from desk.engine.suite_records import QueueItem
from desk.ui.collector import handed_over

if TYPE_CHECKING:
    from desk.core.rubric import Rubric
    from desk.ui.rating_queue import QueueIndex, RatingQueue
    from desk.ui.run_compare_view import RunCompareDialog
    from desk.ui.run_scorecard import RunScorecardDialog

D = TypeVar("D", bound=QDialog)


class RunDialogs:
    """`rated(run_id)` is told after each rating the queue saves; `rubric()` is the window's
    rubric for the queue (None: the engine's)."""

    def __init__(self, engine: Engine, parent: QWidget, show_error: Callable[[str], None],
                 rated: Callable[[str], None], rubric: Callable[[], Rubric | None],
                 open_trial: Callable[[str], None] | None = None,
                 big: Callable[[str], bool] = lambda run_id: False) -> None:
        self.engine = engine
        self.big = big  # a run whose rating queue and scorecard are read off the GUI thread
        self.queue_task: asyncio.Future[RatingQueue | None] | None = None  # such a read under way
        self._queue_job: Job | None = None
        self.parent = parent
        self.show_error = show_error
        self.rated = rated
        self.rubric = rubric
        self.open_trial = open_trial  # an answer chosen in a dialog opens in the Trials tab
        self.queue: RatingQueue | None = None
        self.scorecard: RunScorecardDialog | None = None
        self.compare: RunCompareDialog | None = None

    def open_queue(self, run_id: str, rater: str | None = None) -> RatingQueue | None:
        """Open the rating queue of a run as `rater` (asked for when no name is stored). A big
        run's queue is read off the GUI thread first: None now, the queue once read (queue_task)."""
        rater = rater or self._ask_rater()
        if not rater:
            return None
        if self._queue_job is not None:
            self._queue_job.cancel()  # the queue asked for before: this one replaces it
            self._queue_job = None
        if self.big(run_id):  # read first, off the GUI thread; the queue opens once read
            self._queue_job = Job("Rating queue")
            self.queue_task = asyncio.ensure_future(self._open_when_read(self._queue_job, run_id, rater))
            return None
        return self._open(run_id, rater, None)

    async def _open_when_read(self, job: Job, run_id: str, rater: str) -> RatingQueue | None:
        with handed_over():  # the collector waits for the items and freezes them once shown
            try:
                items = await self.engine.suites.rating_queue_in_background(job, run_id, rater)
            except JobCancelled:
                return None
            except EngineError as exc:
                if job is self._queue_job:
                    self._queue_job = None
                    self.show_error(str(exc))
                return None
            from desk.ui.rating_queue import QueueIndex

            index = await asyncio.to_thread(QueueIndex.of, items)  # its lookups, made off the GUI thread too
            if job is not self._queue_job or not shiboken6.isValid(self.parent):
                return None
            self._queue_job = None
            return self._open(run_id, rater, items, index)

    def _open(self, run_id: str, rater: str, items: list[QueueItem] | None,
              index: QueueIndex | None = None) -> RatingQueue | None:
        from desk.ui.rating_queue import RatingQueue

        self.queue = self._replace(self.queue, lambda: RatingQueue(self.engine, run_id, rater, rubric=self.rubric(),
                                                                  parent=self.parent, items=items, index=index))
        if self.queue is not None:
            self.queue.rating_saved.connect(lambda _r: self.rated(run_id))
            self.queue.focus_current()
        return self.queue

    def _ask_rater(self) -> str | None:
        """The rater's name: the one stored, else asked for (and stored); None if not given."""
        rater = self.engine.rater_name()
        if rater:
            return rater
        name, ok = QInputDialog.getText(self.parent, "Your name as a rater",
                                        "Your name is stored with every rating you make:")
        if not ok or not name.strip():
            return None
        try:
            self.engine.set_rater_name(name)
        except EngineError as exc:
            self.show_error(str(exc))
            return None
        return self.engine.rater_name() or ""

    def open_scorecard(self, run_id: str) -> RunScorecardDialog | None:
        """Open the scorecard of a run, beside the window (a big run's fills once read)."""
        from desk.ui.run_scorecard import RunScorecardDialog

        self.scorecard = self._replace(self.scorecard, lambda: RunScorecardDialog(self.engine, run_id,
                                                                                  parent=self.parent,
                                                                                  big=self.big(run_id)))
        if self.scorecard is not None and self.open_trial is not None:
            self.scorecard.tool_use.answer_opened.connect(self.open_trial)
        return self.scorecard

    def open_compare(self, suite: str, run_id: str | None) -> RunCompareDialog | None:
        """Compare `run_id` (default: the newest) with the suite's run before it; the timeline."""
        from desk.ui.run_compare_view import RunCompareDialog

        self.compare = self._replace(self.compare, lambda: RunCompareDialog(self.engine, suite, run_id,
                                                                            parent=self.parent))
        return self.compare

    def _replace(self, old: D | None, make: Callable[[], D]) -> D | None:
        """Close a run's dialog and open another in front (None, said, if the run cannot be read)."""
        if old is not None:
            old.close()
            old.deleteLater()
        try:
            dialog = make()
        except EngineError as exc:
            self.show_error(str(exc))
            return None
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def close(self) -> None:
        for dialog in (self.queue, self.scorecard, self.compare):
            if dialog is not None:
                dialog.close()
