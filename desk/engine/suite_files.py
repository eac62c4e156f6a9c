"""Suite files: the bundled starter suite, reading a CSV or JSONL file into a suite, and
writing a suite back to JSONL with its attachments beside it. No store involved except
ensure_starter's shelf, so a worker thread may read and write files."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from desk.core.suite import Suite, SuiteError, check_name, load_suite_file
from desk.engine.export_files import usual_mode
from desk.engine.ports.suites import SuiteShelf
from desk.engine.suite_records import SuiteRunError
from desk.store.suites import SuiteInfo

STARTER = "starter"
STARTER_ENV = "DESK_STARTER_SUITE"  # a path that replaces the bundled starter suite file


def starter_path() -> Path | None:
    """The bundled starter suite: $DESK_STARTER_SUITE, else resources/suites/starter.jsonl
    next to the package in a checkout, in the PyInstaller bundle, or where a wheel put it
    (<prefix>/share/desk/suites)."""
    env = os.environ.get(STARTER_ENV)
    if env:
        return Path(env) if Path(env).is_file() else None
    here = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent.parent))
    for candidate in (here / "resources" / "suites" / "starter.jsonl", here / "suites" / "starter.jsonl",
                      Path(sys.prefix) / "share" / "desk" / "suites" / "starter.jsonl"):
        if candidate.is_file():
            return candidate
    return None


def ensure_starter(suites: SuiteShelf) -> SuiteInfo | None:
    """Import the bundled starter suite if this version of its file is not stored yet."""
    path = starter_path()
    if path is None:
        return None
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    found = suites.find_suite_file(STARTER, sha)
    if found is not None:
        return found
    cases = load_suite_file(path)
    suites.save_suite(Suite(STARTER, cases, source="built-in"), sha256=sha, stable_ids=True)
    return suites.find_suite_file(STARTER, sha)


def read_suite_file(path: str | Path, name: str, *,
                    allow_outside: Sequence[str | Path] = ()) -> Suite:
    """The suite in a file (its attachments read), under the checked `name`; no store involved,
    so any thread may read it."""
    try:
        return Suite(check_name(name), load_suite_file(path, allow_outside=allow_outside), source=str(path))
    except SuiteError as exc:
        error = SuiteRunError(str(exc))
        error.outside = exc.outside
        raise error from None


def export_suite(suite: Suite, path: str | Path) -> int:
    """Write the suite as JSONL (one case per line); attachments go to a folder next to the
    file (`NAME_files/`), named by relative path so the file imports back as it was."""
    out = Path(path)
    folder_name = f"{out.stem}_files"
    lines = []
    files: list[tuple[Path, bytes]] = []
    for case in suite.cases:
        record = case.as_json()
        if case.attachments:
            safe_key = re.sub(r"[^\w.-]+", "_", case.key).strip("._") or f"case{case.position + 1}"
            names: list[str] = []
            for att in case.attachments:
                base = re.sub(r"[^\w. -]+", "_", Path(att.name).name).strip(" .") or "attachment"
                name, n = base, 1
                while name in names:
                    n += 1
                    stem, dot, ext = base.rpartition(".")
                    name = f"{stem}-{n}.{ext}" if dot and stem else f"{base}-{n}"
                names.append(name)
                files.append((out.parent / folder_name / safe_key / name, att.data))
            record["attachments"] = [f"{folder_name}/{safe_key}/{name}" for name in names]
        lines.append(json.dumps(record, ensure_ascii=False))
    for target, data in files:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(line + "\n" for line in lines))
        usual_mode(tmp, out)  # mkstemp's 0600 would hide a shared export from colleagues
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return len(lines)

