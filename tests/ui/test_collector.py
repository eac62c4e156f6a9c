"""Garbage holding Qt objects is collected on the GUI thread only (desk/ui/collector.py).

A collection that ran on a worker thread once destroyed a QTimer there; the GUI thread's
next timer tick touched freed memory and the app died with a segfault."""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtCore import QObject, QTimer

from desk.ui.collector import GuiThreadCollector


class _Holder(QObject):
    pass


def test_a_worker_that_allocates_never_collects_qt_garbage(qapp):
    session_policy = gc.isenabled()
    gc.enable()  # as Python starts: automatic collection on whichever thread allocates
    collector = GuiThreadCollector(interval_ms=10).start()
    try:
        assert not gc.isenabled()
        freed_on: list[int] = []
        holder = _Holder()
        holder.timer = QTimer()  # a live timer in a reference cycle, as a closed panel leaves one
        holder.timer.start(1000)
        holder.me = holder
        weakref.finalize(holder, lambda: freed_on.append(threading.get_ident()))
        del holder

        def allocate() -> None:  # enough young objects to trigger collection many times over
            junk = [[i] for i in range(200_000)]
            for item in junk:
                item.append(item)  # cycles, so the collector has work
        worker = threading.Thread(target=allocate)
        worker.start()
        worker.join()
        assert freed_on == []  # the worker did not collect

        for _ in range(5):
            collector.check()
        gc.collect()  # whatever check() left for an older generation
        assert freed_on == [threading.get_ident()]  # collected here, on the GUI thread
        assert collector.collections >= 1
    finally:
        collector.stop()
        assert gc.isenabled()
        if not session_policy:
            gc.disable()


def test_stop_gives_collection_back(qapp):
    was = gc.isenabled()
    collector = GuiThreadCollector().start()
    collector.stop()
    assert gc.isenabled() == was


def test_a_pass_waits_while_a_worker_builds_rows_then_takes_the_youngest(qapp, monkeypatch):
    """A worker inside collections_paused (a big run read off the GUI thread): a pass here
    would walk every row it builds (100-700 ms at 100,000 answers), so none runs until the
    worker is done, or WAIT_S has passed, and then only the youngest generation is collected."""
    from desk.core.collections_paused import collections_paused
    from desk.ui import collector as module

    collector = GuiThreadCollector(interval_ms=10_000).start()  # checked by hand below
    passes: list[int] = []
    monkeypatch.setattr(module.gc, "collect", lambda generation=2: passes.append(generation) or 0)
    clock = [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: clock[0])
    building, done = threading.Event(), threading.Event()

    def worker() -> None:
        with collections_paused():
            rows = [[i] for i in range(50_000)]  # young objects past every threshold
            building.set()
            done.wait(10)
            del rows
    thread = threading.Thread(target=worker)
    thread.start()
    try:
        building.wait(10)
        collector.check()
        clock[0] += module.WAIT_S - 0.1
        collector.check()
        assert passes == []  # held off while the worker builds
        clock[0] += 0.2
        collector.check()
        assert passes == [0]  # waited long enough: the youngest generation only
        assert not gc.isenabled()
    finally:
        done.set()
        thread.join()
    junk = [[i] for i in range(50_000)]  # the worker is done: passes as thresholds say
    collector.check()
    assert len(passes) == 2
    del junk
    monkeypatch.undo()
    collector.stop()


def test_a_big_result_handed_over_is_frozen_out_of_the_passes_not_walked(qapp, monkeypatch):
    """100,000 cells of a big run's matrix, walked by a young, a middle and a full pass, cost
    the GUI thread 50-150 ms each: read and installed in `handed_over`, the collector waits
    meanwhile and such a result is frozen instead; a small one, and everything made between
    hand-overs, is collected as ever."""
    from desk.ui import collector as module

    collector = GuiThreadCollector(interval_ms=10_000).start()  # checked by hand below
    passes: list[int] = []
    monkeypatch.setattr(module.gc, "collect", lambda generation=2: passes.append(generation) or 0)
    try:
        frozen_before = gc.get_freeze_count()
        with module.handed_over():
            small = [[i] for i in range(5_000)]
        assert gc.get_freeze_count() == frozen_before  # not worth it: a pass over it is cheap
        with module.handed_over():
            result = [[i] for i in range(module.FREEZE_FROM + 10_000)]  # a worker's read, now the view's
            collector.check()
            assert passes == []  # the collector waits while it is read and installed
        assert gc.get_freeze_count() > frozen_before and gc.get_count()[0] < 1_000  # nothing young to walk
        collector.check()
        assert passes == []
        junk = [[i] for i in range(5_000)]  # an ordinary burst: collected, not frozen
        collector.check()
        assert passes == [0]
        del small, result, junk
    finally:
        gc.unfreeze()
        monkeypatch.undo()
        collector.stop()
