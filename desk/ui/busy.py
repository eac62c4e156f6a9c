"""The status bar's "what desk is doing" strip: a label, a progress bar and Cancel.

Long work (an export, a merge, a price refresh) runs as an asyncio task; when it has a
`Job` (work on a worker thread), a timer on the GUI thread polls it for progress: the worker
never calls into Qt. Cancel cancels the task and the job; the work then stops at its next
check and leaves nothing half-written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from desk.engine.jobs import Job, JobCancelled

T = TypeVar("T")
POLL_MS = 100


class BusyBar(QWidget):
    """One piece of long work at a time, shown in the status bar while it runs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("busyBar")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setObjectName("busyLabel")
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(180)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("busyCancel")
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.label)
        row.addWidget(self.bar)
        row.addWidget(self.cancel_button)
        self._task: asyncio.Task[Any] | None = None
        self._job: Job | None = None
        self._title = ""
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._show_job)
        self.setVisible(False)

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    async def run(self, title: str, work: Callable[[], Awaitable[T]], job: Job | None = None) -> T:
        """Show `title` while `work()` runs; raises JobCancelled if the user cancelled."""
        if self.busy:
            raise RuntimeError("desk is already busy with " + self._title)
        self._title, self._job = title, job
        self.label.setText(title + "…")
        self.bar.setRange(0, 0)  # busy until the job says how much there is
        self.cancel_button.setEnabled(True)
        self.setVisible(True)
        self._task = asyncio.ensure_future(work())
        if job is not None:
            self._poll.start()
        try:
            return await self._task
        except asyncio.CancelledError:
            raise JobCancelled(f"{title}: cancelled") from None
        finally:
            self._poll.stop()
            self._task, self._job = None, None
            self.setVisible(False)

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()  # the worker thread stops at its next check...
        elif self._task is not None:
            self._task.cancel()  # ...async work stops at once
        self.cancel_button.setEnabled(False)
        self.label.setText(f"{self._title}: cancelling…")

    def _show_job(self) -> None:
        if self._job is None or self._job.cancelled:
            return
        done, total, detail = self._job.snapshot()
        if total:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
        text = f"{self._title}: {detail}" if detail else self._title
        self.label.setText(f"{text} ({done:,} / {total:,})…" if total else text + "…")
