"""Hostile files in the window: dropped files are read off the GUI thread, a FIFO or /dev/zero
never freezes it, sending waits for files still being read, and the Suites tab asks before
importing attachments from outside the suite's folder."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtWidgets import QMessageBox

import desk.ui.compose as compose
from tests.ui.qt_helpers import run_until
from tests.ui.test_main_window import drop_files


@pytest.fixture
def reads(monkeypatch):
    """The thread each attachment is read on; `gate` holds the reads until set."""
    seen: list[int] = []
    gate = threading.Event()
    gate.set()
    real = compose.load_attachment

    def load(path):
        seen.append(threading.get_ident())
        assert gate.wait(10)
        return real(path)

    monkeypatch.setattr(compose, "load_attachment", load)
    return seen, gate


def unblock_fifo_after(fifo: Path, seconds: float) -> threading.Event:
    """Should a read block on the FIFO (the bug), open its write end after `seconds` so the reader
    gets EOF: the test then fails on its timing instead of hanging forever."""
    done = threading.Event()

    def unblock() -> None:
        if not done.wait(seconds):
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass

    threading.Thread(target=unblock, daemon=True).start()
    return done


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not Path("/dev/zero").exists(), reason="needs FIFOs")
def test_a_dropped_fifo_or_device_never_blocks_the_window(window, mw_loop, reads, tmp_path):
    seen, _ = reads
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    good = tmp_path / "notes.txt"
    good.write_text("keep me\n")
    done = unblock_fifo_after(fifo, 5.0)
    try:
        t0 = time.perf_counter()
        drop_files(window, [fifo, "/dev/zero", good], wait=False)
        assert time.perf_counter() - t0 < 0.5, "the drop read files on the GUI thread"
        run_until(mw_loop, lambda: not window.compose.loading(), timeout=4.0)
    finally:
        done.set()
    assert time.perf_counter() - t0 < 3.0
    assert [a.name for a in window.compose.attachments.attachments()] == ["notes.txt"]
    message = window.banner.label.text()
    assert "pipe.csv: is a named pipe (FIFO)" in message and "/dev/zero: is a device" in message
    assert len(seen) == 3 and threading.get_ident() not in seen


def test_sending_waits_for_files_still_being_read(window, mw_loop, reads, vendor, tmp_path):
    _, gate = reads
    data = tmp_path / "table.csv"
    data.write_text("a,b\n1,2\n")
    window.picker.set_checked({"openai/gpt-4o-mini"})
    window.compose.prompt.setPlainText("sum the table")
    gate.clear()
    task = window.compose.add_files([str(data)])
    assert window.compose.loading()
    window.send()
    assert "Still reading the attached files" in window.banner.label.text()
    assert window._run_task is None and vendor.requests == []
    gate.set()
    mw_loop.run_until_complete(task)
    assert not window.compose.loading()
    window.send()
    run_until(mw_loop, lambda: window._run_task.done())
    assert b"1,2" in vendor.requests[0].body


def test_suites_tab_asks_before_importing_files_from_outside_the_folder(window, mw_loop, monkeypatch, tmp_path):
    private = tmp_path / "private" / "id_rsa"
    private.parent.mkdir()
    private.write_text("-----BEGIN KEY-----\n")
    folder = tmp_path / "suites"
    folder.mkdir()
    path = folder / "s.jsonl"
    path.write_text(json.dumps({"id": "a", "prompt": "p", "attachments": ["../private/id_rsa"]}) + "\n")
    asked: list[str] = []
    answer = QMessageBox.StandardButton.No

    def question(parent, title, text, *args):
        asked.append(text)
        return answer

    monkeypatch.setattr(QMessageBox, "question", question)
    from desk.engine import suite_files

    threads: list[int] = []
    real = suite_files.read_suite_file

    def read(*args, **kwargs):
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(suite_files, "read_suite_file", read)
    panel = window.suites_panel
    window.tabs.setCurrentWidget(panel)

    assert not mw_loop.run_until_complete(panel.import_file(path, "mine"))
    assert len(asked) == 1 and str(private) in asked[0]
    assert "line 1: attachment '../private/id_rsa'" in panel.message.text()
    assert "mine" not in panel.suite_names()

    answer = QMessageBox.StandardButton.Yes
    assert mw_loop.run_until_complete(panel.import_file(path, "mine"))
    assert "mine" in panel.suite_names()
    assert window.engine.suites.get("mine").cases[0].attachments[0].text == "-----BEGIN KEY-----\n"

    # A suite whose files all lie in its folder is imported without a question.
    (folder / "ok.txt").write_text("fine\n")
    path.write_text(json.dumps({"id": "a", "prompt": "p", "attachments": ["ok.txt"]}) + "\n")
    assert mw_loop.run_until_complete(panel.import_file(path, "mine"))
    assert len(asked) == 2
    assert len(threads) == 4 and threading.get_ident() not in threads  # read on a worker thread


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_load_dataset_is_read_off_the_gui_thread_and_a_fifo_is_refused(window, mw_loop, monkeypatch, tmp_path):
    import desk.ui.load_view as load_view

    threads: list[int] = []
    real = load_view.load_prompts

    def load(path):
        threads.append(threading.get_ident())
        return real(path)

    monkeypatch.setattr(load_view, "load_prompts", load)
    panel = window.load_panel
    fifo = tmp_path / "prompts.csv"
    os.mkfifo(fifo)
    done = unblock_fifo_after(fifo, 5.0)
    try:
        t0 = time.perf_counter()
        task = panel.load_dataset(fifo)
        assert time.perf_counter() - t0 < 0.5
        assert not mw_loop.run_until_complete(asyncio.wait_for(task, 4.0))
    finally:
        done.set()
    assert "named pipe" in panel.message.text() and panel.dataset is None
    good = tmp_path / "prompts.jsonl"
    good.write_text('{"prompt": "one"}\n')
    assert mw_loop.run_until_complete(panel.load_dataset(good)) and len(panel.dataset) == 1
    assert len(threads) == 2 and threading.get_ident() not in threads
