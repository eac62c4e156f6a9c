"""Slow look-ups run on a worker thread and report on the GUI thread, or not at all once
the widget they were for is gone (issue 21: the keyring probe and the price-data name held
the window)."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("PySide6")

from PySide6.QtWidgets import QLabel
from shiboken6 import isValid

from desk.ui.background import call_in_thread


def test_the_work_runs_off_the_gui_thread_and_the_answer_lands_on_it(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    gui = threading.get_ident()
    seen: dict[str, int] = {}

    def work() -> str:
        seen["work"] = threading.get_ident()
        return "found"

    def done(text: str) -> None:
        seen["done"] = threading.get_ident()
        label.setText(text)

    call_in_thread(label, work, done)
    qtbot.waitUntil(lambda: label.text() == "found")
    assert seen["work"] != gui and seen["done"] == gui


def test_nothing_is_delivered_to_a_deleted_widget(qtbot):
    release = threading.Event()
    label = QLabel()
    delivered: list[str] = []
    call_in_thread(label, lambda: release.wait(5) and "late", delivered.append)
    witness = QLabel()
    qtbot.addWidget(witness)
    call_in_thread(witness, lambda: release.wait(5) and "late", lambda text: witness.setText(text))
    label.deleteLater()
    qtbot.waitUntil(lambda: not isValid(label))
    release.set()
    qtbot.waitUntil(lambda: witness.text() == "late")  # the other look-up's answer arrived...
    assert delivered == []  # ...and this one's was dropped with its widget
