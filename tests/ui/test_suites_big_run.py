"""A big run's matrix is read off the GUI thread (issue 21: 1.8 s at 100,000 answers): the
Suites tab says it is reading, keeps its event loop turning, reads on a connection of its
own (the window's is not used), and shows the run once read; opening another run meanwhile
shows that one, never the first's late result."""

from __future__ import annotations

import asyncio
import threading

import pytest

pytest.importorskip("PySide6")

from desk.core.response import Attempt, ResponseResult, Status
from desk.core.suite import Case, Suite
from desk.engine import suites_tab

MODELS = ("openai/gpt-4o-mini", "claude/claude-sonnet-4-5")


def _run(store, name: str, cases: int) -> str:
    """A finished run of `cases` cases x 2 models, stored through the store's API."""
    suite = store.suites.save_suite(Suite(name, tuple(Case(f"{name}{k}", f"Task {k} of {name}") for k in range(cases))))
    run_id = store.runs.create("suite", {"suite_id": suite.id, "suite": suite.name, "suite_version": suite.version,
                                         "cases": cases, "models": list(MODELS), "repeat": 1, "concurrency": 2,
                                         "total": cases * len(MODELS), "settings": {}, "max_turns": 2}, name)
    for k, case in enumerate(suite.cases):
        trial = store.suites.cell_trial(run_id, case, 0)
        for j, model in enumerate(MODELS):
            rid = f"{name}-{k}-{j}"
            store.responses.finish(ResponseResult(
                id=rid, trial_id=trial, model=model, settings={}, status=Status.OK, text=f"Answer {k} by {model}",
                started_at=1.0, first_token_at=1.1, ended_at=2.0, total_ms=1000.0,
                attempts=[Attempt(number=1, started_at=1.0, ended_at=2.0, status=Status.OK)]))
            store.suites.link_response(rid, run_id, k * len(MODELS) + j)
    store.runs.finish(run_id, "done", {})
    return run_id



def on_gui_connection(monkeypatch, store, method: str) -> list[bool]:
    """Whether each call of the store's SuiteTable `method` was on the window's own
    connection (True) or a worker's (False), as the calls come."""
    calls: list[bool] = []
    real = getattr(type(store.suites), method)
    monkeypatch.setattr(type(store.suites), method,
                        lambda self, *args: calls.append(self is store.suites) or real(self, *args))
    return calls

def test_a_big_runs_matrix_is_read_off_the_gui_thread(window, mw_loop, monkeypatch):
    monkeypatch.setattr(suites_tab, "BIG_RUN", 5)  # these runs count as big
    store = window.engine.store
    first, second = _run(store, "first", 4), _run(store, "second", 3)
    panel = window.suites_panel
    window.tabs.setCurrentWidget(panel)
    on_gui = on_gui_connection(monkeypatch, store, "cell_lines")

    made_on = []
    real_rows = suites_tab.matrix_rows
    monkeypatch.setattr(suites_tab, "matrix_rows",
                        lambda m: made_on.append(threading.get_ident()) or real_rows(m))

    panel.refresh_runs()
    assert panel.open_run(first)
    assert "Reading the run's answers" in panel.matrix_title.text()  # said at once, read meanwhile
    ticks = []

    async def watch():
        while panel.matrix_model.matrix is None:
            ticks.append(1)  # the GUI loop turns while the worker reads
            await asyncio.sleep(0)
    mw_loop.run_until_complete(asyncio.wait_for(asyncio.gather(panel.matrix_reads.task, watch()), 10))
    matrix = panel.matrix_model.matrix
    assert matrix is not None and matrix.run.run_id == first and len(matrix.cells) == 4 * len(MODELS)
    assert ticks and on_gui and not any(on_gui)  # read on the worker's own connection
    assert made_on and threading.get_ident() not in made_on  # its rows made there too
    assert [r.cells for r in panel.matrix_model.rows] == [r.cells for r in real_rows(matrix)]
    assert "first" in panel.matrix_title.text()

    # Another run opened while the first is read again: the second shows, the first's read is dropped.
    assert panel.reload_matrix()
    stale = panel.matrix_reads.task
    assert panel.open_run(second)
    assert panel.matrix_reads.task is not stale
    mw_loop.run_until_complete(asyncio.wait_for(asyncio.gather(stale, panel.matrix_reads.task,
                                                               return_exceptions=True), 10))
    assert panel.matrix_model.matrix.run.run_id == second
    assert len(panel.matrix_model.matrix.cells) == 3 * len(MODELS)


def test_a_big_runs_rating_queue_is_read_off_the_gui_thread_then_opens(window, mw_loop, monkeypatch):
    monkeypatch.setattr(suites_tab, "BIG_RUN", 5)
    store = window.engine.store
    run_id = _run(store, "rated", 4)
    panel = window.suites_panel
    window.tabs.setCurrentWidget(panel)
    panel.refresh_runs()
    on_gui = on_gui_connection(monkeypatch, store, "rater_cells")  # a rater's queue reads its cells so
    from desk.ui.rating_queue import QueueIndex
    indexed_on = []
    real_of = QueueIndex.of.__func__
    monkeypatch.setattr(QueueIndex, "of", classmethod(
        lambda cls, items: indexed_on.append(threading.get_ident()) or real_of(cls, items)))

    assert panel.open_rating_queue(run_id, rater="ana") is None  # not yet: read first, off the GUI thread
    queue = mw_loop.run_until_complete(asyncio.wait_for(panel.dialogs.queue_task, 10))
    assert queue is not None and queue is panel.dialogs.queue and queue.isVisible()
    assert len(queue.items) == 4 and queue.total == 4 * len(MODELS) and not queue.rated
    assert indexed_on and threading.get_ident() not in indexed_on  # its lookups made off the GUI thread
    assert queue.item_of == {rid: item for item in queue.items for rid in item.response_ids}
    assert on_gui and not any(on_gui)  # read on the worker's own connection

    # Asked again, then again before the first read ends: only the last one opens.
    panel.open_rating_queue(run_id, rater="ana")
    first = panel.dialogs.queue_task
    panel.open_rating_queue(run_id, rater="ben")
    opened = mw_loop.run_until_complete(asyncio.wait_for(asyncio.gather(first, panel.dialogs.queue_task), 10))
    assert opened[0] is None and opened[1] is not None and opened[1].rater == "ben"
    panel.dialogs.close()


def test_a_read_that_ends_after_its_view_is_gone_shows_nothing(qtbot, mw_loop):
    """The window closed while a big run was read: the read's result has nowhere to go."""
    import shiboken6
    from PySide6.QtCore import QObject

    from desk.ui.matrix_reads import MatrixReads

    class Tab:  # a big run open, read in the background
        current_run_id = "run-1"
        read = asyncio.Event()

        def reads_slowly(self):
            return True

        async def read_matrix_in_background(self, job):
            await self.read.wait()
            return "the matrix"

        def reloaded(self, started, took):
            pass

    shown, owner = [], QObject()
    reads = MatrixReads(owner, Tab(), shown.append, shown.append, lambda note: None)
    assert reads.reload()
    shiboken6.delete(owner)  # the view goes first
    Tab.read.set()
    mw_loop.run_until_complete(asyncio.wait_for(reads.task, 5))
    assert shown == []


GOOD = {"uncertainty": "confident_correct", "constraints": "na", "quality": 4}


def _table(dialog) -> list[list[str]]:
    t = dialog.table
    return [[t.item(r, c).text() if t.item(r, c) else "" for c in range(t.columnCount())] for r in range(t.rowCount())]


def test_a_big_runs_scorecard_is_read_off_the_gui_thread(window, mw_loop, monkeypatch):
    """Scores, comparison, disagreements and tool use of a big run are read on a worker's own
    connection (at 100,000 answers they took 30 s on the GUI thread); the dialog says it is
    reading, then shows what the small run's path shows; another pair is compared off the GUI
    thread too, and a dialog closed mid-read shows nothing and leaves no read behind."""
    from desk.ui.run_scorecard import RunScorecardDialog

    monkeypatch.setattr(suites_tab, "BIG_RUN", 5)
    store = window.engine.store
    run_id = _run(store, "scored", 6)
    for k in range(6):
        for j in range(len(MODELS)):
            outcome = "success" if (k + j) % 3 else "failure"
            store.ratings.save(f"scored-{k}-{j}", "ana", {**GOOD, "outcome": outcome})
    panel = window.suites_panel
    window.tabs.setCurrentWidget(panel)
    panel.refresh_runs()
    on_gui = on_gui_connection(monkeypatch, store, "cell_figures")

    dialog = panel.open_run_scorecard(run_id)
    assert dialog is not None and dialog.big
    assert "reading its scorecard" in dialog.title.text() and dialog.table.rowCount() == 0
    assert not dialog.refresh_button.isEnabled()
    mw_loop.run_until_complete(asyncio.wait_for(dialog.reads.settled(), 10))
    assert on_gui and not any(on_gui)  # read on the worker's own connection
    assert dialog.refresh_button.isEnabled() and "12 / 12 answers" in dialog.title.text()

    here = RunScorecardDialog(window.engine, run_id, window)  # the small run's path, on the GUI thread
    assert _table(dialog) == _table(here) and dialog.title.text() == here.title.text()
    assert dialog.result.text() == here.result.text() and "wins" in dialog.result.text()
    assert dialog.reading.text() == here.reading.text()
    assert dialog.disagreements.text() == here.disagreements.text()

    dialog.choose(MODELS[1], MODELS[0])
    assert "Comparing" in dialog.result.text()
    mw_loop.run_until_complete(asyncio.wait_for(dialog.reads.settled(), 10))
    here.choose(MODELS[1], MODELS[0])
    assert dialog.result.text() == here.result.text() and dialog.result.text().startswith(MODELS[1])

    shown = []
    dialog.show_reading = shown.append
    dialog.refresh()
    dialog.close()  # mid-read: its job is cancelled, nothing is shown
    mw_loop.run_until_complete(asyncio.wait_for(dialog.reads.settled(), 10))
    assert shown == []
    here.close()


@pytest.mark.parametrize("big", [False, True], ids=["here", "worker"])
def test_a_run_scorecard_says_why_it_compares_nothing(window, mw_loop, monkeypatch, big):
    """A run of one model, or the same model chosen twice: the dialog says why there is no
    comparison, whether the run was read here or on a worker."""
    from desk.core.response import Attempt, ResponseResult, Status
    from desk.core.suite import Case, Suite
    from desk.ui.run_scorecard import RunScorecardDialog

    store = window.engine.store
    suite = store.suites.save_suite(Suite("solo", (Case("s0", "Task 0"),)))
    run_id = store.runs.create("suite", {"suite_id": suite.id, "suite": "solo", "suite_version": suite.version,
                                         "cases": 1, "models": [MODELS[0]], "repeat": 1, "concurrency": 1,
                                         "total": 1, "settings": {}, "max_turns": 2}, "solo")
    trial = store.suites.cell_trial(run_id, suite.cases[0], 0)
    store.responses.finish(ResponseResult(
        id="solo-0", trial_id=trial, model=MODELS[0], settings={}, status=Status.OK, text="Done.",
        started_at=1.0, first_token_at=1.1, ended_at=2.0, total_ms=1000.0,
        attempts=[Attempt(number=1, started_at=1.0, ended_at=2.0, status=Status.OK)]))
    store.suites.link_response("solo-0", run_id, 0)
    store.runs.finish(run_id, "done", {})
    dialog = RunScorecardDialog(window.engine, run_id, window, big=big)
    mw_loop.run_until_complete(asyncio.wait_for(dialog.reads.settled(), 10))
    assert dialog.result.text() == "This run has one model: there is nothing to compare it with."
    dialog.close()

    two = _run(store, "pair", 2)
    dialog = RunScorecardDialog(window.engine, two, window, big=big)
    dialog.choose(MODELS[0], MODELS[0])
    dialog.refresh()
    mw_loop.run_until_complete(asyncio.wait_for(dialog.reads.settled(), 10))
    assert dialog.result.text() == "Choose two different models."
    dialog.close()
