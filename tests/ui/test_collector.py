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
