"""Every export says which ratings and preferences a merge brought in, and from which store.

A colleague's store is merged into ours (as tests/store/test_store_merge.py builds them):
its "ana" rated an answer ours never rated, its "bob" rated another, and its "cy" said
which of two answers is better. An exported merged "ana" must not look like our own ana.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desk.core.ids import new_id
from desk.core.response import ResponseResult, Status, Usage
from desk.core.trial import TrialInput
from desk.engine.export import export_file
from desk.store import Store, open_store

GOOD = {"outcome": "success", "uncertainty": "asked_clarifying", "constraints": "followed", "quality": 4}
BAD = {"outcome": "failure", "uncertainty": "confident_wrong", "constraints": "violated", "quality": 1}


def _answer(store: Store, trial_id: str, model: str) -> str:
    result = ResponseResult(id=new_id(), trial_id=trial_id, model=model, settings={}, status=Status.OK,
                            text=f"answer from {model}", started_at=time.time(), usage=Usage(3, 4))
    store.responses.finish(result)
    return result.id


def _store_id(store: Store) -> str:
    return store.db.execute("SELECT id FROM store_identity").fetchone()[0]


@pytest.fixture
def merged(tmp_path: Path) -> Iterator[tuple[Store, str, str, str]]:
    """(our store after the merge, the colleague's store id, answer x, answer y)."""
    with open_store(tmp_path / "mine.db") as mine:
        trial = mine.trials.create(TrialInput("task"))
        x, y = _answer(mine, trial, "p/x"), _answer(mine, trial, "p/y")
        mine.ratings.save(x, "ana", GOOD)
        mine.ratings.save_preference(x, y, "a", "ana")
    with open_store(tmp_path / "theirs.db") as theirs:
        theirs.merge_from(tmp_path / "mine.db")
        theirs.ratings.save(y, "ana", BAD)  # their own "ana", where ours said nothing
        theirs.ratings.save(x, "bob", GOOD)
        theirs.ratings.save_preference(y, x, "a", "cy")
        their_id = _store_id(theirs)
    store = open_store(tmp_path / "mine.db")
    store.merge_from(tmp_path / "theirs.db")
    yield store, their_id, x, y
    store.close()


def test_csv_says_which_ratings_came_from_where(merged, tmp_path):
    store, their_id, x, y = merged
    export_file(store, "csv", tmp_path / "out.csv")
    with open(tmp_path / "out.csv", encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    assert header[header.index("rater") + 1] == "rating_origin"
    assert sorted((r["response_id"], r["rater"], r["rating_origin"]) for r in rows) == sorted([
        (x, "ana", ""), (x, "bob", their_id), (y, "ana", their_id)])


def test_jsonl_and_pairs_say_which_came_from_where(merged, tmp_path):
    store, their_id, x, y = merged
    export_file(store, "jsonl", tmp_path / "out.jsonl")
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    found = [(r["rating"]["response_id"], r["rating"]["rater"], r["rating"]["origin"]) for r in records]
    assert sorted(found, key=str) == sorted([(x, "ana", None), (x, "bob", their_id), (y, "ana", their_id)], key=str)

    export_file(store, "pairs", tmp_path / "pairs.jsonl")
    pairs = [json.loads(line) for line in (tmp_path / "pairs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted((p["rater"], p["chosen"], p["origin"]) for p in pairs) == [
        ("ana", "answer from p/x", None), ("cy", "answer from p/y", their_id)]


def test_parquet_says_which_ratings_came_from_where(merged, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    store, their_id, x, y = merged
    export_file(store, "parquet", tmp_path / "out.parquet")
    table = pq.read_table(tmp_path / "out.parquet")
    names = table.column_names
    assert names[names.index("rater") + 1] == "rating_origin"
    assert str(table.schema.field("rating_origin").type) == "string"
    rows = table.to_pylist()
    assert sorted(((r["response_id"], r["rater"], r["rating_origin"]) for r in rows), key=str) == sorted(
        [(x, "ana", None), (x, "bob", their_id), (y, "ana", their_id)], key=str)
