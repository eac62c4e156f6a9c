"""The scorecard dialog computes off the GUI thread: the window keeps running meanwhile,
a refresh drops the stale result, Cancel stops it, and the intervals are shown."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

import desk.engine.services.ratings as rating_service
from desk.core.ids import new_id
from desk.core.response import ResponseResult, Status, Usage
from desk.core.trial import TrialInput
from desk.store.sql import transaction
from desk.ui.scorecard_view import COLUMNS, ScorecardDialog
from tests.ui.qt_helpers import run_until

GOOD = {"uncertainty": "confident_correct", "constraints": "followed", "quality": 4}


def seed(store) -> None:
    """Models a and b on six tasks, rated by ana (a: 5 successes, b: 2); a wins 4, ties 1 of 5."""
    a_ids, b_ids = [], []
    for i in range(6):
        trial = store.trials.create(TrialInput(f"task {i}"))
        for model, ids, ok in (("p/a", a_ids, i < 5), ("p/b", b_ids, i < 2)):
            r = ResponseResult(id=new_id(), trial_id=trial, model=model, settings={}, status=Status.OK,
                               text="x", total_ms=100.0 + i, ttft_ms=50.0, cost_usd=0.01, usage=Usage(1, 1))
            store.responses.create(r)
            store.responses.finish(r)
            store.ratings.save(r.id, "ana", {**GOOD, "outcome": "success" if ok else "failure"})
            ids.append(r.id)
    for i in range(5):
        store.ratings.save_preference(a_ids[i], b_ids[i], "tie" if i == 4 else "a", "ana")
    store.ratings.save(b_ids[0], "bo", {**GOOD, "outcome": "success"})  # only bo's filter differs


def seed_large(store, tasks: int) -> None:
    """Three models on `tasks` tasks, every answer rated, two preferences per task: enough
    for the real bootstraps and Bradley–Terry refits to take a noticeable while."""
    ids: dict[str, list[str]] = {"p/a": [], "p/b": [], "p/c": []}
    with transaction(store.db):  # one commit: seeding thousands of answers stays quick
        _seed_large(store, tasks, ids)


def _seed_large(store, tasks: int, ids: dict[str, list[str]]) -> None:
    for i in range(tasks):
        trial = store.trials.create(TrialInput(f"task {i}"))
        for model, got in ids.items():
            r = ResponseResult(id=new_id(), trial_id=trial, model=model, settings={}, status=Status.OK,
                               text="x", total_ms=100.0 + (i * 37) % 500, ttft_ms=50.0, cost_usd=0.01,
                               usage=Usage(1, 1))
            store.responses.finish(r)  # inserts it, finished: no create first
            store.ratings.save(r.id, "ana", {**GOOD, "outcome": "success" if i % 3 else "failure"})
            got.append(r.id)
        store.ratings.save_preference(ids["p/a"][i], ids["p/b"][i], "a" if i % 3 else "b", "ana")
        store.ratings.save_preference(ids["p/b"][i], ids["p/c"][i], "a" if i % 2 else "tie", "ana")


def gated(monkeypatch, *, honour_cancel: bool):
    """Make the engine's scorecard computation wait for the test to open a gate; returns the
    list of (gate, thread id) per computation."""
    real = rating_service.compute_scorecard
    calls: list[tuple[threading.Event, int]] = []

    def slow(*args, **kwargs):
        gate = threading.Event()
        calls.append((gate, threading.get_ident()))
        assert gate.wait(10), "the test never opened the gate"
        if not honour_cancel:  # compute to the end whatever happens: a stale result arrives
            kwargs["progress"] = lambda *_: None
        return real(*args, **kwargs)

    monkeypatch.setattr(rating_service, "compute_scorecard", slow)
    return calls


def cell(dialog, row, title):
    return dialog.table.item(row, [c for c, _ in COLUMNS].index(title)).text()


def test_window_keeps_processing_events_while_the_scorecard_computes(engine, qtbot, mw_loop, monkeypatch):
    seed(engine.store)
    calls = gated(monkeypatch, honour_cancel=True)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    dialog = ScorecardDialog(engine)  # returns at once: the computation is on its way elsewhere
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.computing and dialog.busy_label.isVisible() and dialog.cancel_button.isVisible()
    run_until(mw_loop, lambda: calls)
    assert calls[0][1] != threading.get_ident()  # a worker thread, not the GUI thread
    run_until(mw_loop, lambda: len(ticks) >= 10)  # the event loop runs while it is blocked
    assert dialog.computing and dialog.table.rowCount() == 0
    calls[0][0].set()
    run_until(mw_loop, lambda: not dialog.computing)
    timer.stop()
    assert not dialog.busy_label.isVisible()
    assert [dialog.table.item(r, 0).text() for r in range(2)] == ["p/a", "p/b"]


def test_a_timer_keeps_ticking_while_a_large_store_is_scored(engine, qtbot, mw_loop):
    seed_large(engine.store, 8000)  # the scorecard is fast: it takes this many to work for a while
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    started = time.perf_counter()
    dialog = ScorecardDialog(engine)
    qtbot.addWidget(dialog)
    assert dialog.computing  # the dialog opens without waiting for the figures
    run_until(mw_loop, lambda: not dialog.computing, timeout=60)
    took = time.perf_counter() - started
    timer.stop()
    assert dialog.table.rowCount() == 3
    during = [t for t in ticks if t < started + took]
    assert took > 0.2 and len(during) >= 10  # real work, and the GUI thread kept running through it
    gaps = [b - a for a, b in zip([started, *during], during, strict=False)]
    # Never frozen for long (the worker shares the GIL in short slices). Scored on the GUI thread,
    # one gap would span the whole computation; relative to it, a loaded machine that slows
    # both threads (a 0.5 s pause of the process) does not fail the test.
    assert max(gaps) < took / 2, (max(gaps), took)


def test_a_refresh_drops_the_result_for_the_old_filters(engine, qtbot, mw_loop, monkeypatch):
    seed(engine.store)
    calls = gated(monkeypatch, honour_cancel=False)
    dialog = ScorecardDialog(engine)
    qtbot.addWidget(dialog)
    first = dialog._task
    run_until(mw_loop, lambda: len(calls) == 1)
    dialog.rater.setText("bo")
    qtbot.mouseClick(dialog.findChild(type(dialog.cancel_button), "scoreRefresh"), Qt.MouseButton.LeftButton)
    run_until(mw_loop, lambda: len(calls) == 2)
    calls[1][0].set()  # the new filters' result comes first...
    run_until(mw_loop, lambda: not dialog.computing)
    assert dialog.table.rowCount() == 1 and cell(dialog, 0, "Rated") == "1"
    calls[0][0].set()  # ...the old one later, and is dropped
    stale = dialog._generation
    run_until(mw_loop, first.done)  # it ran to the end (cancel ignored) and was not shown
    assert first.exception() is None
    assert dialog._generation == stale and dialog.table.rowCount() == 1 and cell(dialog, 0, "Rated") == "1"


def test_cancel_stops_the_computation_and_keeps_the_window_as_it_was(engine, qtbot, mw_loop, monkeypatch):
    seed(engine.store)
    calls = gated(monkeypatch, honour_cancel=True)
    dialog = ScorecardDialog(engine)
    qtbot.addWidget(dialog)
    dialog.show()
    task = dialog._task
    run_until(mw_loop, lambda: calls)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert not dialog.computing and not dialog.cancel_button.isVisible()
    calls[0][0].set()
    run_until(mw_loop, task.done)
    assert task.exception() is None and dialog.table.rowCount() == 0 and dialog.note.text() == ""


def test_the_table_shows_win_rate_and_cost_per_success_intervals(engine, qtbot, mw_loop):
    seed(engine.store)
    dialog = ScorecardDialog(engine)
    qtbot.addWidget(dialog)
    run_until(mw_loop, lambda: not dialog.computing)
    a, b = dialog.scores
    lo, hi = a.pairwise_win_ci
    assert cell(dialog, 0, "Win rate") == f"90% [{lo * 100:.0f}–{hi * 100:.0f}] (n=5)"
    assert "[" in cell(dialog, 0, "Cost / success") and "–" in cell(dialog, 0, "Cost / success")
    # b: 2 successes in 6 answers; a resample without one has no finite cost per success.
    assert b.cost_per_success_ci[1] == float("inf") and cell(dialog, 1, "Cost / success").endswith("–∞]")


def test_the_menu_opens_it_modally_and_it_still_fills_in(window, qtbot, mw_loop):
    seed(window.engine.store)
    seen = {}

    def when_open():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, ScorecardDialog) or dialog.computing:
            QTimer.singleShot(20, when_open)
            return
        seen["rows"] = dialog.table.rowCount()
        dialog.accept()

    QTimer.singleShot(20, when_open)
    mw_loop.call_soon(window.open_scorecard)  # runs dialog.exec() inside the running loop, as a click does
    run_until(mw_loop, lambda: "rows" in seen)
    assert seen["rows"] == 2
