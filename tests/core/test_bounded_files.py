"""Files the user names are checked before they are read and never read past their limit:
FIFOs, devices, folders and huge sparse files are refused at once."""

from __future__ import annotations

import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from desk.core.attachment import MAX_ATTACHMENT_BYTES, AttachmentError, load_attachment
from desk.core.dataset import DatasetError, load_prompts
from desk.core.files import FileReadError, read_bounded

posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


def with_watchdog(fifo: Path, call, seconds: float = 5.0):
    """Run `call`; should it block opening or reading the FIFO (the bug), a writer opens and
    closes the FIFO after `seconds`, so the reader gets EOF and the test fails instead of hanging."""
    done = threading.Event()

    def unblock() -> None:
        if done.wait(seconds):
            return
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:  # nobody is reading: nothing to unblock
            pass

    watchdog = threading.Thread(target=unblock, daemon=True)
    watchdog.start()
    t0 = time.perf_counter()
    try:
        return call(), time.perf_counter() - t0
    finally:
        done.set()
        watchdog.join()


@posix_only
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)

    def attach():
        with pytest.raises(AttachmentError) as err:
            load_attachment(fifo)
        return str(err.value)

    message, took = with_watchdog(fifo, attach)
    assert took < 2.0, f"blocked {took:.1f} s on a FIFO"
    assert "named pipe" in message and "only ordinary files" in message

    def dataset():
        with pytest.raises(DatasetError) as err:
            load_prompts(fifo)
        return str(err.value)

    message, took = with_watchdog(fifo, dataset)
    assert took < 2.0 and "named pipe" in message


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_and_a_folder_are_refused_before_any_read(tmp_path):
    # (load_attachment("/dev/zero") is run by tests/test_cli_hostile_files.py in a child with
    # its memory capped: here, a regression would read until this process ran out of memory.)
    with pytest.raises(FileReadError, match="is a device"):
        read_bounded("/dev/zero", 10)
    with pytest.raises(AttachmentError, match="is a folder, not a file"):
        load_attachment(tmp_path)
    with pytest.raises(AttachmentError, match="no such file"):
        load_attachment(tmp_path / "missing.csv")


def test_a_huge_sparse_file_is_refused_from_its_size_without_being_read(tmp_path):
    # 60 MiB of holes: no disk used, and small enough that a regression reading it whole fails
    # this test rather than the machine (the CLI test attaches 1 TiB in a memory-capped child).
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:
        f.truncate(MAX_ATTACHMENT_BYTES + 40 * 1024 * 1024)

    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        with pytest.raises(AttachmentError) as err:
            load_attachment(big)
        assert "big.csv: attachment is 60.0 MiB, larger than the 20.0 MiB limit" in str(err.value)
        with open(big, "r+b") as f:
            f.truncate(1 << 40)  # 1 TiB
        with pytest.raises(DatasetError, match=r"file is 1048576\.0 MiB, larger than the 200\.0 MiB limit"):
            load_prompts(big)
        took = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert took < 1.0
    assert peak < 1024 * 1024, f"{peak} bytes allocated: the file was read before it was refused"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")
def test_a_file_larger_than_its_stat_is_read_at_most_one_byte_past_the_limit(monkeypatch):
    # /proc files say they are 0 bytes long; what they hold is only known by reading.
    status = Path("/proc/self/status")
    assert status.stat().st_size == 0 and len(status.read_bytes()) > 100
    reads: list[int] = []
    real_fdopen = os.fdopen

    class Counting:
        def __init__(self, f) -> None:
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self.f.close()

        def fileno(self) -> int:
            return self.f.fileno()

        def read(self, n: int = -1) -> bytes:
            data = self.f.read(n)
            reads.append(len(data))
            return data

    monkeypatch.setattr(os, "fdopen", lambda *a, **kw: Counting(real_fdopen(*a, **kw)))
    with pytest.raises(FileReadError, match=r"larger than the 0\.0 MiB limit"):
        read_bounded(status, 50)
    assert reads == [51]
    reads.clear()
    assert read_bounded(status, 1 << 20).startswith(b"Name:")
    assert sum(reads) <= (1 << 20) + 1


def test_an_ordinary_file_within_its_limit_reads_whole(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"x" * 1000)
    assert read_bounded(path, 1000) == b"x" * 1000
    with pytest.raises(FileReadError, match="larger than"):
        read_bounded(path, 999)
    link = tmp_path / "link.txt"
    link.symlink_to(path)
    assert load_attachment(link).text == "x" * 1000
