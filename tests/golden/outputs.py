"""Every output the golden test compares, produced from a copy of the golden store.

`produce(db, out)` runs the `desk` CLI in this process (desk.cli.main, stdout and stderr
captured as bytes) and the window's export paths, and returns {file name: bytes}. Local
time is pinned to UTC (human listings print local dates); temporary paths are replaced by
"<tmp>", the built-in suite's created_at (stored afresh at every open) by "<now>". Parquet files are compared by their schema and decoded rows (the file's bytes carry
the writer's version)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def utc() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


class _Bytes(io.TextIOWrapper):
    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8", newline="")

    def value(self) -> bytes:
        self.flush()
        return self.buffer.getvalue()  # type: ignore[attr-defined]


def run_cli(*args: str) -> bytes:
    """`desk ARGS` in this process: exit code, stdout and stderr as one record."""
    from desk.cli import main

    out, err = _Bytes(), _Bytes()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return b"exit %d\n--- stdout\n%s--- stderr\n%s" % (code, out.value(), err.value())


def _ids(db: Path) -> dict[str, list[str]]:
    """Trial, response and run ids of the store, in a stable order (plain SQL: no desk code)."""
    con = sqlite3.connect(db)
    try:
        def col(sql: str) -> list[str]:
            return [row[0] for row in con.execute(sql)]

        return {
            "trials": col("SELECT id FROM trials ORDER BY created_at, id"),
            "load_runs": col("SELECT id FROM runs WHERE kind = 'load' ORDER BY created_at, id"),
            "suite_runs": col("SELECT id FROM runs WHERE kind = 'suite' ORDER BY created_at, id"),
        }
    finally:
        con.close()


def _builtin_undated(data: bytes) -> bytes:
    """The built-in suite is stored afresh when a store opens: its created_at is "now"."""
    lines = data.split(b"\n")
    for i, line in enumerate(lines):
        if line.startswith(b"{") and json.loads(line).get("builtin"):
            lines[i] = re.sub(rb'"created_at": [0-9.]+', b'"created_at": "<now>"', line)
    return b"\n".join(lines)


def _parquet(path: Path) -> bytes:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    rows = table.to_pylist()
    head = str(table.schema.remove_metadata()).encode()
    return head + b"\n" + "".join(json.dumps(r, sort_keys=True, default=str) + "\n" for r in rows).encode()


def _bundled_prices(data: bytes) -> bytes:
    """The bundled price data's version, newest change and vendor count come from the installed
    genai-prices, which a fresh install may have newer: not desk's output, so not compared."""
    data = re.sub(rb"genai-prices [0-9][0-9A-Za-z.+-]*, newest price change [0-9-]+",
                  b"genai-prices <version>, newest price change <date>", data)
    data = re.sub(rb'"newest_price_change": "[0-9-]+"', b'"newest_price_change": "<date>"', data)
    return re.sub(rb'"vendors": [0-9]+', b'"vendors": "<n>"', data)


def produce(db: Path, out: Path) -> dict[str, bytes]:
    out.mkdir(parents=True, exist_ok=True)
    ids = _ids(db)
    results: dict[str, bytes] = {}
    tmp = str(out).encode()

    def keep(name: str, data: bytes) -> None:
        results[name] = _bundled_prices(data.replace(tmp, b"<tmp>").replace(str(db).encode(), b"<db>"))

    def cli(name: str, *args: str) -> None:
        keep(f"cli/{name}.txt", run_cli(*args, "--db", str(db)))

    def file_of(name: str, args: Callable[[str], list[str]], parquet: bool = False) -> None:
        path = out / name
        keep(f"cli/{name}.txt", run_cli(*args(str(path)), "--db", str(db)))
        keep(f"files/{name}", _parquet(path) if parquet else path.read_bytes())

    with utc():
        cli("history", "history", "--limit", "100")
        cli("history.json", "history", "--limit", "100", "--json")
        cli("runs", "runs")
        cli("runs.json", "runs", "--json")
        cli("runs-load.json", "runs", "--kind", "load", "--json")
        for i, trial in enumerate(ids["trials"]):
            cli(f"show-{i}", "show", trial)
            cli(f"show-{i}.json", "show", trial, "--json")
        cli("provider-list", "provider", "list")
        cli("provider-list.json", "provider", "list", "--json")
        cli("price-list", "price", "list")
        cli("price-list.json", "price", "list", "--json")
        cli("rubric-show", "rubric", "show")
        cli("rubric-show.json", "rubric", "show", "--json")
        cli("scorecard", "scorecard")
        cli("scorecard.json", "scorecard", "--json")
        cli("scorecard-bob.json", "scorecard", "--rater", "bob", "--json")
        cli("scorecard-tag.json", "scorecard", "--tag", "ok", "--json")
        keep("cli/suite-list.json.txt", _builtin_undated(run_cli("suite", "list", "--all", "--json", "--db", str(db))))
        cli("suite-list", "suite", "list")
        cli("suite-disagreements", "suite", "disagreements")
        cli("prices-info", "prices", "info")
        cli("prices-info.json", "prices", "info", "--json")
        cli("history-search.json", "history", "--search", "risky", "--json")
        cli("runs-suite", "runs", "--kind", "suite")
        cli("show-missing", "show", "nope", "--json")
        cli("export-bad-run", "export", "--run", "nope", "--format", "jsonl", "--out", "-")
        cli("export-run-narrowed", "export", "--run", "nope", "--format", "jsonl", "--rater", "ann", "--out", "-")
        cli("export-run-pairs", "export", "--run", "nope", "--format", "pairs", "--out", "-")
        cli("export-parquet-stdout", "export", "--format", "parquet", "--out", "-")
        cli("export-until-before-since", "export", "--format", "csv", "--since", "2026-12-05", "--until",
            "2026-12-01", "--out", "-")
        cli("export-jsonl-stdout-trial", "export", "--format", "jsonl", "--trial", ids["trials"][1], "--out", "-")
        cli("export-pairs-bob-stdout", "export", "--format", "pairs", "--rater", "bob", "--out", "-")
        cli("export-csv-since", "export", "--format", "csv", "--since", "2026-12-04", "--until", "2026-12-04",
            "--out", "-")
        cli("suite-runs", "suite", "runs")
        cli("suite-runs.json", "suite", "runs", "--json")
        cli("suite-disagreements.json", "suite", "disagreements", "--json")
        first, second = ids["suite_runs"]
        cli("scorecard-run.json", "scorecard", "--run", first, "--json")
        cli("scorecard-run-desk.json", "scorecard", "--run", first, "--constraints", "desk", "--json")
        cli("scorecard-run", "scorecard", "--run", first)
        cli("scorecard-compare.json", "scorecard", "--run", first, "--compare", "oa/three", "oa/wordy", "--json")
        cli("suite-compare.json", "suite", "compare", first, second, "--json")
        cli("suite-compare", "suite", "compare", first, second)
        cli("suite-history.json", "suite", "history", "golden", "--json")
        cli("suite-history", "suite", "history", "golden")
        cli("scorecard-compare", "scorecard", "--run", first, "--compare", "oa/three", "oa/wordy")
        cli("export-csv-stdout", "export", "--format", "csv", "--out", "-")
        file_of("export.csv", lambda p: ["export", "--format", "csv", "--out", p])
        file_of("export-nobom.csv", lambda p: ["export", "--format", "csv", "--no-bom", "--out", p])
        file_of("export.jsonl", lambda p: ["export", "--format", "jsonl", "--out", p])
        file_of("export-ann.jsonl", lambda p: ["export", "--format", "jsonl", "--rater", "ann", "--out", p])
        file_of("export-tag.jsonl", lambda p: ["export", "--format", "jsonl", "--tag", "ok", "--out", p])
        file_of("export-pairs.jsonl", lambda p: ["export", "--format", "pairs", "--out", p])
        file_of("export.parquet", lambda p: ["export", "--format", "parquet", "--out", p], parquet=True)
        for kind in ("load", "suite"):
            run = ids[f"{kind}_runs"][0]
            file_of(f"run-{kind}.csv", lambda p, r=run: ["export", "--run", r, "--format", "csv", "--out", p])
            file_of(f"run-{kind}.jsonl", lambda p, r=run: ["export", "--run", r, "--format", "jsonl", "--out", p])
            file_of(f"run-{kind}.parquet", lambda p, r=run: ["export", "--run", r, "--format", "parquet",
                                                             "--out", p], parquet=True)
        suite_file = out / "suite-golden.jsonl"
        keep("cli/suite-export.txt", run_cli("suite", "export", "golden", "--out", str(suite_file), "--db", str(db)))
        keep("files/suite-golden.jsonl", suite_file.read_bytes())
        _window_exports(db, ids, out, keep)
        empty = out / "empty.db"
        keep("cli/merge-into-empty.json.txt", run_cli("merge", str(db), "--json", "--db", str(empty)))
        keep("cli/merge-again.txt", run_cli("merge", str(db), "--db", str(empty)))
    return results


def _window_exports(db: Path, ids: dict[str, list[str]], out: Path, keep: Callable[[str, bytes], None]) -> None:
    """What the window writes: rated answers (Engine.export) and a run's requests."""
    from desk.engine.aio import run
    from desk.engine.services.exports import ExportParams, RunExportParams
    from desk.engine.session import Engine
    from desk.store.db import open_store

    store = open_store(str(db))

    async def go() -> None:
        async with Engine(store) as engine:
            for fmt in ("csv", "jsonl"):
                path = out / f"window-export.{fmt}"
                engine.exports.export(ExportParams(fmt, str(path)))
                keep(f"files/window-export.{fmt}", path.read_bytes())
                for kind in ("load", "suite"):
                    path = out / f"window-run-{kind}.{fmt}"
                    result = engine.exports.export_run(RunExportParams(ids[f"{kind}_runs"][0], fmt, str(path)))
                    keep(f"files/window-run-{kind}.{fmt}", f"{result.rows} rows\n".encode() + path.read_bytes())

    try:
        run(go())
    finally:
        store.close()
