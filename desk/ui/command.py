"""One piece of long work started from a button: the busy check, the task, Cancel, and what
the panel's message line says when the work starts and ends.

Every panel that runs async work does the same four things: refuse a second start while one
runs, clear its message, run the work as an asyncio task (on the status bar's BusyBar when
it has a Job), and say how it ended: done, cancelled or failed. `Command` does them once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel

from desk.engine.jobs import Job, JobCancelled
from desk.engine.session import EngineError
from desk.engine.tab_events import Notice
from desk.ui import defs
from desk.ui.busy import BusyBar

log = logging.getLogger("desk.ui.command")
T = TypeVar("T")
STILL_BUSY = "desk is still busy with the work shown in the status bar: wait or cancel it."


Said = str | Notice | None  # a plain string is news, not a problem; None says nothing
Saying = Said | Callable[[Any], Said]


class Command:
    """Runs one piece of async work at a time for a panel.

    `show_info` / `show_error` write the panel's message line (the banner), `clear` empties
    it when work starts. With a `bar` (the window's BusyBar) the work shows its title and a
    Job's progress in the status bar, and "busy" means the bar is busy with anything;
    without one the command owns its task. `running_changed(bool)` follows the command's
    own work, to enable buttons and start redraw timers.
    """

    def __init__(self, show_info: Callable[[str], None], show_error: Callable[[str], None], *,
                 clear: Callable[[], None] | None = None, bar: BusyBar | None = None,
                 running_changed: Callable[[bool], None] | None = None, refuse: str | None = STILL_BUSY) -> None:
        self._show_info, self._show_error, self._clear = show_info, show_error, clear
        self.bar = bar
        self._running_changed = running_changed
        self.refuse = refuse  # said when a start is refused (None: refuse quietly; the default names the bar)
        self._task: asyncio.Future[Any] | None = None

    @property
    def running(self) -> bool:
        """This command's work is under way (from start until the task's last step)."""
        return self._task is not None and not self._task.done()

    @property
    def busy(self) -> bool:
        """A start now would be refused: this command runs, or the status bar is busy."""
        return self.running or (self.bar is not None and self.bar.busy)

    def start(self, work: Callable[[], Awaitable[T]], *, done: Callable[[T], Said] | None = None,
              cancelled: Saying = "Cancelled.", failed: Callable[[Exception], Said] | None = None,
              errors: tuple[type[Exception], ...] = (EngineError,), title: str = "",
              job: Job | None = None) -> asyncio.Future[bool] | None:
        """Start `work()` unless busy (then say `refuse` and return None); the task returns
        True when the work completed. `errors` are told (by `failed`, else their text);
        other exceptions are bugs and propagate. A cancel is told by `cancelled`."""
        if self.busy:
            if self.refuse:
                self._show_error(self.refuse)
            return None
        if self._clear is not None:
            self._clear()
        task = asyncio.ensure_future(self._go(work, done, cancelled, failed, errors, title, job))
        task.add_done_callback(self._ended)
        self._task = task
        self._set_running(True)
        return task

    def cancel(self) -> None:
        """Stop the work: the bar cancels its job (or task); else the task is cancelled."""
        if not self.running:
            return
        if self.bar is not None and self.bar.busy:
            self.bar.cancel()
        elif self._task is not None:
            self._task.cancel()

    def tell(self, said: Said) -> None:
        if said is None:
            return
        if isinstance(said, str):
            self._show_info(said)
        elif said.error:
            self._show_error(said.text)
        else:
            self._show_info(said.text)

    async def _go(self, work: Callable[[], Awaitable[T]], done: Callable[[T], Said] | None, cancelled: Saying,
                  failed: Callable[[Exception], Said] | None, errors: tuple[type[Exception], ...], title: str,
                  job: Job | None) -> bool:
        try:
            result = await (self.bar.run(title, work, job) if self.bar is not None else work())
        except (asyncio.CancelledError, JobCancelled) as exc:
            said = cancelled(exc) if callable(cancelled) else cancelled
            self._set_running(False)
            self.tell(said)
            return False
        except errors as exc:
            if not isinstance(exc, EngineError | ValueError | OSError):
                log.exception("%s failed", title or "work")  # a bug, told in the window
            said = failed(exc) if failed is not None else Notice(str(exc), error=True)
            self._set_running(False)  # after `failed`, which may update what the panel shows
            self.tell(said)
            return False
        except BaseException:
            self._set_running(False)
            raise
        self._set_running(False)
        if done is not None:
            self.tell(done(result))
        return True

    def _ended(self, task: asyncio.Future[Any]) -> None:
        if task.cancelled() and task is self._task:  # cancelled before its first step: _go never ran
            self._set_running(False)

    def _set_running(self, running: bool) -> None:
        if not running:
            self._task = None  # running is False from here, though the task takes its last step
        if self._running_changed is not None:
            self._running_changed(running)


class MessageLine(QLabel):
    """A panel's message line (its banner): news in the ordinary colour, problems in red,
    hidden when there is nothing to say; selectable, so an error can be copied."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.setObjectName(name)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setVisible(False)

    def show_error(self, text: str) -> None:
        self.setStyleSheet(f"color: {defs.error_text()};")
        self.setText(text)
        self.setVisible(True)

    def show_info(self, text: str) -> None:
        self.setStyleSheet("")
        self.setText(text)
        self.setVisible(True)

    def clear_message(self) -> None:
        self.clear()
        self.setVisible(False)


async def ask_from_task(question: Callable[[], T]) -> T:
    """Ask a modal question (a dialog's exec) from inside a task: it is asked from a plain Qt
    callback, as its nested event loop must not run inside a task's step (other tasks would
    step within this one)."""
    answer: asyncio.Future[T] = asyncio.get_running_loop().create_future()

    def ask() -> None:
        if not answer.done():
            answer.set_result(question())

    QTimer.singleShot(0, ask)
    return await answer
