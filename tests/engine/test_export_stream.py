"""Exports stream: rows are read a batch at a time and written as they come, so memory
stays flat however many answers there are (tests/bench/bench_store.py times 100,000)."""

from __future__ import annotations

import io
import json

import pytest

import desk.engine.export as export
from desk.core.response import ResponseResult, Status
from desk.core.trial import TrialInput
from desk.engine.export import export_file, table_rows
from desk.store import open_store
from desk.store.export_reads import ANSWER_COLUMNS
from desk.store.sql import transaction

ANSWERS = 1200  # more than two of the store's batches of 500


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = open_store(tmp_path_factory.mktemp("stream") / "stream.db")
    with transaction(s.db):
        for t in range(ANSWERS // 2):
            trial = s.trials.create(TrialInput(f"task {t}"))
            for model in ("p/a", "p/b"):
                r = ResponseResult(id=f"r{t:05d}{model[-1]}", trial_id=trial, model=model, settings={},
                                   status=Status.OK, text=f"answer {t} by {model}", total_ms=100.0, cost_usd=0.01)
                s.responses.finish(r)
                s.ratings.save(r.id, "ana", {"outcome": "success", "uncertainty": "confident_correct",
                                            "constraints": "followed", "quality": 1 + t % 5})
    yield s
    s.close()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_rows_are_written_before_the_last_answers_are_read(store, fmt, tmp_path, monkeypatch):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    batches: list[int] = []  # the size of each batch of answers read, as read
    attempt_reads: list[int] = []
    answers, attempts = store.exports.answers, store.exports.attempts

    def read_answers(filters=None, size=1000, columns=ANSWER_COLUMNS, quoted=()):
        for batch in answers(filters, size, columns, quoted):
            batches.append(len(batch))
            yield batch

    monkeypatch.setattr(store.exports, "answers", read_answers)
    monkeypatch.setattr(store.exports, "attempts", lambda ids: attempt_reads.append(len(ids)) or attempts(ids))
    writes: list[int] = []  # batches read so far at each write of rows

    class Watched(io.StringIO):
        def write(self, text: str) -> int:
            if "\n" in text:
                writes.append(len(batches))
            return super().write(text)

    seen: list[tuple[int, int | None, int]] = []  # (rows written, total, batches read so far)
    result = export_file(store, fmt, tmp_path / f"out.{fmt}" if fmt == "parquet" else Watched(),
                         progress=lambda done, total, _: seen.append((done, total, len(batches))))
    assert result.rows == ANSWERS
    assert seen[-1][:2] == (ANSWERS, ANSWERS) and all(total == ANSWERS for _, total, _ in seen)
    assert max(batches) <= (export.PARQUET_ROW_GROUP if fmt == "parquet" else 1000)  # never all at once
    assert bool(attempt_reads) == (fmt == "jsonl")  # a flat row has no place for attempts
    if fmt != "parquet":  # parquet writes a row group at a time; the others a batch at a time
        assert len(batches) >= 2
        assert any(0 < w < len(batches) for w in writes)  # rows written while answers were still unread


def test_parquet_is_written_in_row_groups_with_the_same_rows(store, tmp_path, monkeypatch):
    pq = pytest.importorskip("pyarrow.parquet")
    monkeypatch.setattr(export, "PARQUET_ROW_GROUP", 500)
    out = tmp_path / "out.parquet"
    export_file(store, "parquet", out)
    assert pq.ParquetFile(out).metadata.num_row_groups == 3
    columns, rows = table_rows(store)
    table = pq.read_table(out)
    assert table.column_names == columns and table.to_pylist() == rows
    assert str(table.schema.field("quality").type) == "int64"


def test_jsonl_lines_follow_the_stored_order(store, tmp_path):
    export_file(store, "jsonl", tmp_path / "out.jsonl")
    ids = [json.loads(line)["response"]["id"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert ids == sorted(ids) and len(ids) == ANSWERS  # ids were given in the order stored


def test_parquet_types_extra_criteria_by_their_kind(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import dataclasses

    from desk.core.rubric import Criterion, Option

    s = open_store(tmp_path / "extra.db")
    try:
        base = s.rubrics.default()
        extra = (Criterion("speed", "Speed", "scale", required=False),
                 Criterion("id", "An unlucky key", "scale", required=False),  # rating_id stays text
                 Criterion("tone", "Tone", "choice", (Option("warm", "Warm"), Option("cold", "Cold")), required=False))
        rubric = s.rubrics.save_version(dataclasses.replace(base, criteria=(*base.criteria, *extra)))
        trial = s.trials.create(TrialInput("extra"))
        for i, values in enumerate(({"speed": 4, "id": 2, "tone": "warm"}, {})):
            r = ResponseResult(id=f"e{i}", trial_id=trial, model="p/m", settings={}, status=Status.OK, text="a")
            s.responses.finish(r)
            s.ratings.save(r.id, "ana", {"outcome": "success", "uncertainty": "confident_correct",
                                        "constraints": "followed", "quality": 3, **values}, rubric_id=rubric.id)
        export_file(s, "parquet", tmp_path / "out.parquet")
        table = pq.read_table(tmp_path / "out.parquet")
        types = {f.name: str(f.type) for f in table.schema}
        assert types["speed"] == "int64" and types["rating_id"] == "string" and types["tone"] == "string"
        assert types["id"] == "int64"
        assert table.to_pylist() == table_rows(s)[1]
    finally:
        s.close()
