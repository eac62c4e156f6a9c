"""desk.ui.command: one piece of work at a time, Cancel, and what the message line says."""

from __future__ import annotations

import asyncio
import threading

import pytest

pytest.importorskip("PySide6")

from desk.engine.jobs import Job
from desk.engine.session import EngineError
from desk.engine.tab_events import Notice
from desk.ui.busy import BusyBar
from desk.ui.command import STILL_BUSY, Command, MessageLine, ask_from_task


@pytest.fixture
def line(qtbot):
    widget = MessageLine("testMessage")
    qtbot.addWidget(widget)
    return widget


def command_on(line: MessageLine, **kw) -> tuple[Command, list[bool]]:
    states: list[bool] = []
    command = Command(line.show_info, line.show_error, clear=line.clear_message, running_changed=states.append, **kw)
    return command, states


def test_done_work_is_told_and_a_second_start_is_refused_while_it_runs(line, mw_loop):
    command, states = command_on(line)
    release = asyncio.Event()

    async def work() -> int:
        await release.wait()
        return 7

    line.show_error("an old problem")
    task = command.start(work, done=lambda n: f"got {n}")
    assert task is not None and command.running and command.busy and states == [True]
    assert line.isHidden() and line.text() == ""  # starting cleared the old message
    assert command.start(work) is None  # refused: one at a time
    assert line.text() == STILL_BUSY and not line.isHidden()
    release.set()
    assert mw_loop.run_until_complete(task) is True
    assert not command.running and states == [True, False]
    assert line.text() == "got 7" and "color" not in line.styleSheet()


def test_a_quiet_command_refuses_without_a_word(line, mw_loop):
    command, _ = command_on(line, refuse=None)
    gate = asyncio.Event()
    task = command.start(gate.wait)
    line.show_info("unchanged")
    assert command.start(gate.wait) is None and line.text() == "unchanged"
    gate.set()
    mw_loop.run_until_complete(task)


def test_cancel_stops_the_task_and_says_so(line, mw_loop):
    command, states = command_on(line)
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = command.start(forever, cancelled=lambda exc: Notice(f"stopped ({type(exc).__name__})"))

    async def go() -> bool:
        await started.wait()
        command.cancel()
        return await task

    assert mw_loop.run_until_complete(go()) is False
    assert line.text() == "stopped (CancelledError)" and states == [True, False] and not command.running


def test_a_cancel_before_the_first_step_still_ends_the_work(line, mw_loop):
    command, states = command_on(line)
    task = command.start(asyncio.Event().wait)
    command.cancel()  # the task has not stepped yet
    with pytest.raises(asyncio.CancelledError):
        mw_loop.run_until_complete(task)
    assert states == [True, False] and not command.running


def test_expected_errors_are_told_and_bugs_propagate(line, mw_loop):
    command, states = command_on(line)

    async def refused() -> None:
        raise EngineError("no such suite")

    assert mw_loop.run_until_complete(command.start(refused)) is False
    assert line.text() == "no such suite" and "color" in line.styleSheet()

    async def told() -> None:
        raise OSError("disk full")

    task = command.start(told, errors=(OSError,), failed=lambda exc: Notice(f"Export failed: {exc}", error=True))
    assert mw_loop.run_until_complete(task) is False and line.text() == "Export failed: disk full"

    async def bug() -> None:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        mw_loop.run_until_complete(command.start(bug))
    assert states[-1] is False and not command.running


def test_on_the_status_bar_it_shows_the_job_and_cancels_the_worker(line, qtbot, mw_loop):
    bar = BusyBar()
    qtbot.addWidget(bar)
    command, states = command_on(line, bar=bar)
    job = Job("Copying")
    started = threading.Event()

    def worker() -> int:
        started.set()
        for i in range(10_000):
            job.report(i, 10_000, "rows")
            threading.Event().wait(0.001)
        return 1

    task = command.start(lambda: asyncio.to_thread(worker), title="Copying", job=job,
                         cancelled="Copy cancelled: nothing was written.")
    assert task is not None and bar.busy is False  # the bar takes the work at the task's first step
    other = Command(line.show_info, line.show_error, bar=bar)

    async def go() -> bool:
        assert await asyncio.to_thread(started.wait, 30)
        assert bar.busy and bar.label.text().startswith("Copying")
        assert other.start(asyncio.sleep, title="other") is None  # the bar is busy: refused
        assert line.text() == STILL_BUSY
        command.cancel()
        return await task

    assert mw_loop.run_until_complete(go()) is False
    assert job.cancelled and not bar.busy and not bar.isVisible()
    assert line.text() == "Copy cancelled: nothing was written." and states == [True, False]


def test_a_question_from_a_task_is_asked_outside_its_step(qapp, mw_loop):
    asked_in: list[object] = []

    def question() -> str:
        asked_in.append(asyncio.current_task())
        return "yes"

    async def go() -> str:
        return await ask_from_task(question)

    assert mw_loop.run_until_complete(go()) == "yes"
    assert asked_in == [None]  # a plain Qt callback, not inside the task
