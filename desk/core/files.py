"""Reading a file the user named, bounded: checked before it is opened, never read past its limit.

A path can name a FIFO (opening it waits forever for a writer), a device (/dev/zero never
ends), a folder, or a sparse file of terabytes whose blocks were never written. So the
size and kind are checked with stat before anything is opened, the open itself cannot
block, the kind is checked again on the open descriptor (the path may have been swapped
in between), and at most `limit + 1` bytes are read: a file that grew past its stat, or
that lies about its size (/proc), is refused without being read whole.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class FileReadError(ValueError):
    """A file that cannot be read; the message names it and says why in plain words."""


def read_bounded(path: str | Path, limit: int, *, what: str = "file") -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them, or FileReadError.

    `what` names the kind of file in the too-large message ("file", "data file", ...)."""
    p = Path(path)
    try:
        _check(p, os.stat(p), limit, what)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(p, flags)
    except FileNotFoundError:
        raise FileReadError(f"{p}: no such file") from None
    except NotADirectoryError:
        raise FileReadError(f"{p}: no such file") from None
    except PermissionError:
        raise FileReadError(f"{p}: cannot read (permission denied)") from None
    except OSError as exc:
        raise FileReadError(f"{p}: cannot read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as f:
        _check(p, os.fstat(f.fileno()), limit, what)
        try:
            data = f.read(limit + 1)
        except OSError as exc:
            raise FileReadError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise FileReadError(f"{p.name}: {what} is larger than the {mib(limit)} limit (it grew while being read)")
    return data


def _check(p: Path, st: os.stat_result, limit: int, what: str) -> None:
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise FileReadError(f"{p.name}: is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise FileReadError(f"{p}: is {_kind(mode)}, not an ordinary file; only ordinary files can be read")
    if st.st_size > limit:
        raise FileReadError(f"{p.name}: {what} is {mib(st.st_size)}, larger than the {mib(limit)} limit")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"
