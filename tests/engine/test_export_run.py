"""A load run's requests out as CSV / JSONL (desk.engine.export.export_run_requests)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from desk.core.load import RequestOutcome
from desk.engine.export import RUN_REQUEST_COLUMNS, ExportError, export_run_requests
from desk.store.db import open_store


@pytest.fixture
def run_store(tmp_path):
    store = open_store(tmp_path / "runs.db")
    run_id = store.create_run("load", {"models": ["openai/a"]})
    outcomes = [
        RequestOutcome("openai/a", 0, 4, 0, 1.5, "ok", answered_by="openai/a", ttft_ms=10.0, total_ms=20.0,
                       itl_ms=[1.0, 2.5], attempts=1, cost_usd=0.001, response_ids=["r1"]),
        RequestOutcome("openai/a", 0, 4, 1, 2.0, "ok", answered_by="=cmd|' /C calc'!A0", total_ms=30.0,
                       attempts=2, response_ids=["r2", "r3"]),
        RequestOutcome("openai/a", 0, 4, 2, 3.0, "error", error_kind="server_error", total_ms=5.0, attempts=1),
    ]
    store.save_run_batch(run_id, outcomes, [])
    yield store, run_id
    store.close()


def test_csv_has_one_row_per_request_with_the_formula_guard(run_store, tmp_path):
    store, run_id = run_store
    result = export_run_requests(store, run_id, "csv", tmp_path / "r.csv")
    assert result.rows == 3
    rows = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8", newline="")))
    assert list(rows[0]) == list(RUN_REQUEST_COLUMNS)
    assert rows[1]["answered_by"] == "'=cmd|' /C calc'!A0" and rows[1]["fallback_used"] == "true"
    assert rows[1]["response_ids"] == "r2;r3" and rows[2]["error_kind"] == "server_error"
    assert rows[2]["ttft_ms"] == "" and rows[0]["fallback_used"] == "false"


def test_jsonl_keeps_every_field_untouched(run_store):
    store, run_id = run_store
    out = io.StringIO()
    export_run_requests(store, run_id, "jsonl", out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert records[0]["itl_ms"] == [1.0, 2.5] and records[0]["cost_usd"] == 0.001
    assert records[1]["answered_by"] == "=cmd|' /C calc'!A0" and records[1]["response_ids"] == ["r2", "r3"]


def test_unknown_run_or_format_is_a_sentence(run_store, tmp_path):
    store, run_id = run_store
    with pytest.raises(ExportError, match="no run nope"):
        export_run_requests(store, "nope", "csv", tmp_path / "x.csv")
    with pytest.raises(ExportError, match="not one of csv, jsonl"):
        export_run_requests(store, run_id, "parquet", tmp_path / "x.parquet")
    assert not (tmp_path / "x.csv").exists()
