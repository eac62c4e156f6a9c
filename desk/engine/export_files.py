"""Writing an export: the result, the error, CSV cells and rows, JSON Lines, Parquet's
optional extra, and files written whole or not at all (a temporary file renamed into place).

Shared by the rated-answer exports (desk.engine.export), the run exports
(desk.engine.export_runs) and the suite export (desk.engine.suite_run)."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

PARQUET_MISSING = "Parquet needs the optional extra: pip install 'desk[parquet]'"

# What a spreadsheet may run as a formula when a cell starts with it (OWASP's list).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class ExportError(ValueError):
    """An export that cannot be made (unknown format, missing optional extra, unwritable file)."""


@dataclass(frozen=True)
class ExportResult:
    format: str
    path: str
    rows: int
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count (pairs only)



def where(out: str | Path | IO[str]) -> str:
    """What an ExportResult names as written: the path, or the stream's name."""
    return str(out) if isinstance(out, str | Path) else str(getattr(out, "name", "a stream"))


def csv_cell(value: Any) -> Any:
    """A value as written to CSV: None empty, bools true/false, numbers as they are, text
    that a spreadsheet would run as a formula prefixed with an apostrophe."""
    if type(value) is str:  # the most common: checked first (a hundred thousand rows of them)
        return "'" + value if value.startswith(FORMULA_PREFIXES) else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def excel_bom_for(out: str | Path | IO[str], wanted: bool = True) -> bool:
    """Whether a CSV starts with a UTF-8 byte order mark: files do by default (Excel reads a
    double-clicked CSV without one in the legacy code page, so "é" and "—" come out garbled);
    a stream (stdout into a pipe) never does, so `head` and `cut` see plain text."""
    return wanted and isinstance(out, str | Path)


def write_csv(f: IO[str], columns: Sequence[str], rows: Iterable[dict[str, Any]], *, bom: bool = False) -> None:
    write_csv_lists(f, columns, ([row.get(c) for c in columns] for row in rows), bom=bom)


def write_csv_lists(f: IO[str], columns: Sequence[str], rows: Iterable[Sequence[Any]], *, bom: bool = False) -> None:
    """CSV of rows given as values in the order of `columns` (each through `csv_cell`),
    byte for byte what the csv module's default writer makes of them, in a third of its
    time: its per-character scan of every answer was most of a large export."""
    if bom:
        f.write("\ufeff")
    csv.writer(f).writerow(columns)
    write = f.write
    numbers = (int, float)
    for row in rows:
        # Most rows need no quoting nor formula guard: joined plainly, then checked whole
        # (a few scans in C) rather than cell by cell; any doubt takes the careful way.
        line = ",".join([v if type(v) is str else "" if v is None else str(v) if type(v) in numbers
                         else _csv_text(v) for v in row])
        if line.count(",") != len(row) - 1 or any(mark in line for mark in _DOUBTS) \
                or line.startswith(FORMULA_PREFIXES):
            line = ",".join(map(_csv_text, row))
        write(line + "\r\n")


# In a plainly joined row: a cell needing quotes, or one starting like a formula.
_DOUBTS = ('"', "\n", "\r", *("," + prefix for prefix in FORMULA_PREFIXES))


def _csv_text(value: Any) -> str:
    """One field as the csv module's default dialect writes `csv_cell(value)`: quoted when
    it holds a comma, a quote (doubled) or a line break, else as is."""
    if type(value) is str:
        return _quoted("'" + value if value.startswith(FORMULA_PREFIXES) else value)
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    kind = type(value)
    if kind is int or kind is float:
        return str(value)
    return _quoted(str(csv_cell(value)))


def _quoted(text: str) -> str:
    if '"' in text:
        return '"' + text.replace('"', '""') + '"'
    if "," in text or "\n" in text or "\r" in text:
        return '"' + text + '"'
    return text


def write_jsonl(f: IO[str], records: Iterable[dict[str, Any]]) -> None:
    encode = _JSON.encode  # json.dumps(record, ensure_ascii=False, allow_nan=False), one encoder
    write = f.write
    for record in records:
        write(encode(record) + "\n")


_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False)



def pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ExportError(PARQUET_MISSING) from None
    return pa, pq



def typed_table(pa: Any, columns: Sequence[str], types: dict[str, str], rows: Sequence[dict[str, Any]]) -> Any:
    arrow = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
    return pa.table({c: pa.array([r.get(c) for r in rows], type=arrow.get(types.get(c, ""), pa.string()))
                     for c in columns})




@contextmanager
def output(out: str | Path | IO[str]) -> Iterator[IO[str]]:
    if isinstance(out, str | Path):
        with atomic(out, binary=False) as f:
            yield f
    else:
        yield out
        out.flush()


@contextmanager
def atomic(path: str | Path, *, binary: bool) -> Iterator[Any]:
    """A file written next to `path` and renamed onto it once complete."""
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or Path("."))
    except OSError as exc:
        raise ExportError(f"cannot write {path} ({exc.strerror or exc})") from None
    try:
        if binary:
            f: Any = os.fdopen(fd, "wb")
        else:
            # newline="": the csv module writes its own \r\n; JSON Lines use \n as written.
            f = open(fd, "w", encoding="utf-8", newline="")
        with f:
            yield f
        usual_mode(tmp, target)
        os.replace(tmp, target)
    except OSError as exc:
        _unlink(tmp)
        raise ExportError(f"cannot write {path} ({exc.strerror or exc})") from None
    except BaseException:
        _unlink(tmp)
        raise


def usual_mode(tmp: str, target: Path) -> None:
    """mkstemp makes the file private (0600); give it the mode a plain open() would have:
    the replaced file's, else 0666 less the umask."""
    try:
        mode = target.stat().st_mode & 0o777
    except OSError:
        mode = 0o666 & ~_umask()
    os.chmod(tmp, mode)


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask() would, racing other threads)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
