"""A JSON Lines export asks the store's one costly question about its ratings once.

Whether every rater has one current rating per answer (only a merge makes two) is a
scan of every rating: an export's count and read share the answer, asked again only
when the store changed since, by this connection or another one. The count of a
JSON Lines export skips the extra criteria's keys, which its records list themselves.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from desk.core.ids import new_id
from desk.core.response import ResponseResult, Status, Usage
from desk.core.trial import TrialInput
from desk.engine.export import export_file
from desk.store import Store, open_store

GOOD = {"outcome": "success", "uncertainty": "asked_clarifying", "constraints": "followed", "quality": 4}


def _rated_store(path: Path) -> tuple[Store, str]:
    store = open_store(path)
    trial = store.trials.create(TrialInput("task"))
    result = ResponseResult(id=new_id(), trial_id=trial, model="p/x", settings={}, status=Status.OK,
                            text="answer", started_at=time.time(), usage=Usage(3, 4))
    store.responses.finish(result)
    store.ratings.save(result.id, "ana", GOOD)
    return store, result.id


def _lines(store: Store, out: Path) -> list[dict]:
    export_file(store, "jsonl", out)
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_one_export_scans_the_ratings_once_and_reads_no_value_keys(tmp_path):
    store, _ = _rated_store(tmp_path / "s.db")
    seen: list[str] = []
    reported: list[tuple] = []
    store.db.conn.set_trace_callback(seen.append)
    try:
        result = export_file(store, "jsonl", tmp_path / "out.jsonl", progress=lambda *a: reported.append(a))
    finally:
        store.db.conn.set_trace_callback(None)
        store.close()
    assert result.rows == 1 and reported[-1][:2] == (1, 1)
    assert sum("HAVING count(*) > 1" in sql for sql in seen) == 1
    assert sum("SELECT count(*)" in sql for sql in seen) == 1
    assert not any("extra_json != '{}'" in sql for sql in seen)


def test_without_progress_the_lines_written_are_counted_not_queried(tmp_path):
    store, _ = _rated_store(tmp_path / "s.db")
    seen: list[str] = []
    store.db.conn.set_trace_callback(seen.append)
    try:
        result = export_file(store, "jsonl", tmp_path / "out.jsonl")
    finally:
        store.db.conn.set_trace_callback(None)
        store.close()
    assert result.rows == 1
    assert not any("SELECT count(*)" in sql for sql in seen)


def test_a_second_current_row_written_since_is_seen(tmp_path):
    store, answer = _rated_store(tmp_path / "s.db")
    try:
        assert len(_lines(store, tmp_path / "a.jsonl")) == 1
        # Another connection adds a merged row of ana's for the same answer (as a merge
        # does): ana still has one current rating, our own.
        other = sqlite3.connect(tmp_path / "s.db")
        columns = [c[1] for c in other.execute("PRAGMA table_info(ratings)") if c[1] not in ("id", "origin")]
        other.execute(f"INSERT INTO ratings (id, origin, {', '.join(columns)}) "
                      f"SELECT 'merged-row', 'elsewhere', {', '.join(columns)} FROM ratings")
        other.commit()
        other.close()
        records = _lines(store, tmp_path / "b.jsonl")
        assert [(r["response"]["id"], r["rating"]["rater"], r["rating"]["origin"]) for r in records] == [
            (answer, "ana", None)]
        # The same through this store's own connection.
        store.db.conn.execute("UPDATE ratings SET origin = 'elsewhere-too' WHERE id = 'merged-row'")
        store.db.conn.execute("INSERT INTO ratings (id, origin, " + ", ".join(columns) + ") SELECT 'merged-2', "
                              "'third', " + ", ".join(columns) + " FROM ratings WHERE id = 'merged-row'")
        records = _lines(store, tmp_path / "c.jsonl")
        assert [(r["rating"]["rater"], r["rating"]["origin"]) for r in records] == [("ana", None)]
    finally:
        store.close()
