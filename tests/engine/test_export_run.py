"""A run's requests out: per logical load-run request (export_run_requests) and per HTTP
request of any run (export_run_attempts, what `desk export --run` writes)."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import pytest

from desk.core.load import LoadStep, RequestOutcome
from desk.core.trial import TrialInput
from desk.engine.export_files import ExportError
from desk.engine.export_runs import (
    RUN_ATTEMPT_COLUMNS,
    RUN_REQUEST_COLUMNS,
    export_run_attempts,
    export_run_requests,
    run_attempt_rows,
)
from desk.engine.load import LoadPlan
from desk.engine.policy import RetryPolicy
from desk.store.db import open_store
from tests.engine.conftest import MODELS, engine_for, ref, script_for
from tests.vendor_server import Script


@pytest.fixture
def run_store(tmp_path):
    store = open_store(tmp_path / "runs.db")
    run_id = store.runs.create("load", {"models": ["openai/a"]})
    outcomes = [
        RequestOutcome("openai/a", 0, 4, 0, 1.5, "ok", answered_by="openai/a", request_ttft_ms=10.0, total_ms=20.0,
                       itl_ms=[1.0, 2.5], attempts=1, cost_usd=0.001, response_ids=["r1"]),
        RequestOutcome("openai/a", 0, 4, 1, 2.0, "ok", answered_by="=cmd|' /C calc'!A0", total_ms=30.0,
                       attempts=2, response_ids=["r2", "r3"]),
        RequestOutcome("openai/a", 0, 4, 2, 3.0, "error", error_kind="server_error", total_ms=5.0, attempts=1),
    ]
    store.runs.save_batch(run_id, outcomes, [])
    yield store, run_id
    store.close()


def test_csv_has_one_row_per_request_with_the_formula_guard(run_store, tmp_path):
    store, run_id = run_store
    result = export_run_requests(store, run_id, "csv", tmp_path / "r.csv")
    assert result.rows == 3
    rows = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8-sig", newline="")))
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


# --- one line per HTTP request of any run (desk export --run) ---------------------------------------

ATTEMPT_SCRIPTS = [
    Script(status=429, headers={"retry-after-ms": "5", "x-ratelimit-remaining-requests": "0",
                                "x-ratelimit-reset-requests": "120ms"}),
    Script(headers={"x-ratelimit-remaining-requests": "59", "x-ratelimit-remaining-tokens": "149984"}),
    Script(status=503),
    Script(),
    Script(),
]


@pytest.fixture
def load_run(providers, vendor):
    """A load run of 3 requests at concurrency 1; the first and second each retried once."""
    vendor.enqueue(MODELS["openai"], *ATTEMPT_SCRIPTS)
    plan = LoadPlan(models=(ref("openai"),), inputs=(TrialInput("hi"),), steps=(LoadStep(1, 3),),
                    retry=RetryPolicy(max_retries=2, base_delay=0.005, max_delay=0.01), warmup=False)

    async def go():
        async with engine_for(providers) as engine:
            return await engine.loads.run(plan)

    return providers, asyncio.run(go()).run_id


def test_jsonl_round_trips_through_pandas(load_run, vendor, tmp_path):
    pandas = pytest.importorskip("pandas")
    store, run_id = load_run
    out = tmp_path / "attempts.jsonl"
    assert export_run_attempts(store, run_id, "jsonl", out).rows == 5
    df = pandas.read_json(out, lines=True, precise_float=True)
    assert list(df.columns) == list(RUN_ATTEMPT_COLUMNS)
    assert len(df) == 5 and df["seq"].tolist() == [0, 0, 1, 1, 2]
    assert df["attempt"].tolist() == [1, 2, 1, 2, 1] and df["final"].tolist() == [False, True, False, True, True]
    assert df["http_status"].tolist() == [429, 200, 503, 200, 200]
    assert df["status"].tolist() == ["error", "ok", "error", "ok", "ok"]
    assert df["model"].unique().tolist() == ["openai/gpt-4o-mini"]
    for column in ("seq", "step", "concurrency", "attempt", "http_status"):
        assert str(df[column].dtype) == "int64", column
    for column in ("ttft_ms", "total_ms", "wait_before_ms", "request_started_ms"):
        assert str(df[column].dtype) == "float64", column
    # pandas reads *_at columns of unix seconds as timestamps; they keep their microseconds
    for column in ("started_at", "ended_at", "first_token_at"):
        assert str(df[column].dtype).startswith("datetime64"), column
    rows = run_attempt_rows(store, run_id)
    for i, row in enumerate(rows):
        got = df["started_at"].iloc[i].value / 1e9
        assert got == pytest.approx(row["started_at"], abs=1e-6)
        if row["ttft_ms"] is not None:
            span = (df["first_token_at"].iloc[i] - df["started_at"].iloc[i]).total_seconds() * 1000
            assert span == pytest.approx(row["ttft_ms"], abs=0.002)
    assert pandas.isna(df["ttft_ms"].iloc[0]) and pandas.isna(df["first_token_at"].iloc[0])  # the 429
    # ids join the server's log, and the rate-limit headers come back as objects, as sent
    logged = [r for r in vendor.requests if r.method == "POST"]
    assert df["vendor_request_id"].tolist() == [r.request_id for r in logged]
    assert df["ratelimit"].iloc[0] == {"retry-after-ms": "5", "x-ratelimit-remaining-requests": "0",
                                       "x-ratelimit-reset-requests": "120ms"}
    assert df["ratelimit"].iloc[1] == {"x-ratelimit-remaining-requests": "59",
                                       "x-ratelimit-remaining-tokens": "149984"}
    assert df["ratelimit"].iloc[2] == {}
    # without the date guess, the numbers are exactly the stored floats
    raw = pandas.read_json(out, lines=True, precise_float=True, dtype=False)
    assert raw["started_at"].tolist() == [r["started_at"] for r in rows]
    assert raw["ttft_ms"].iloc[1] == round((raw["first_token_at"].iloc[1] - raw["started_at"].iloc[1]) * 1000, 3)


def test_csv_and_parquet_carry_the_same_rows(load_run, tmp_path):
    pandas = pytest.importorskip("pandas")
    store, run_id = load_run
    rows = run_attempt_rows(store, run_id)
    export_run_attempts(store, run_id, "csv", tmp_path / "a.csv")
    df = pandas.read_csv(tmp_path / "a.csv")
    assert list(df.columns) == list(RUN_ATTEMPT_COLUMNS) and len(df) == len(rows)
    assert df["started_at"].tolist() == [r["started_at"] for r in rows]
    assert [json.loads(x) for x in df["ratelimit"]] == [r["ratelimit"] for r in rows]
    assert df["http_status"].tolist() == [r["http_status"] for r in rows]
    pytest.importorskip("pyarrow")
    export_run_attempts(store, run_id, "parquet", tmp_path / "a.parquet")
    pq = pandas.read_parquet(tmp_path / "a.parquet")
    assert list(pq.columns) == list(RUN_ATTEMPT_COLUMNS)
    assert str(pq["attempt"].dtype) == "int64" and str(pq["started_at"].dtype) == "float64"
    assert pq["started_at"].tolist() == [r["started_at"] for r in rows]
    assert pq["vendor_request_id"].tolist() == [r["vendor_request_id"] for r in rows]
    assert [json.loads(x) for x in pq["ratelimit"]] == [r["ratelimit"] for r in rows]
    assert pq["final"].tolist() == [r["final"] for r in rows]


def test_any_kind_of_run_is_exported_from_its_responses(providers, vendor):
    """A suite run (or any run) links its answers with responses.run_id: they export the same way."""
    script_for(vendor, "anthropic", Script(status=529), Script())

    async def go():
        async with engine_for(providers) as engine:
            return await engine.trials.run(TrialInput("hi"), [ref("anthropic"), ref("gemini")])

    outcome = asyncio.run(go())
    run_id = providers.runs.create("suite", {"suite": "x", "concurrency": 2})
    providers.runs.save_batch(run_id, [], [(0, outcome.responses[0]), (1, outcome.responses[1])])
    rows = run_attempt_rows(providers, run_id)
    assert [(r["seq"], r["model"], r["attempt"], r["http_status"]) for r in rows] == [
        (0, "anthropic/claude-sonnet-4-20250514", 1, 529), (0, "anthropic/claude-sonnet-4-20250514", 2, 200),
        (1, "gemini/gemini-2.0-flash", 1, 200)]
    assert {r["run_kind"] for r in rows} == {"suite"} and {r["concurrency"] for r in rows} == {2}
    assert {r["step"] for r in rows} == {None} and {r["trial_id"] for r in rows} == {outcome.trial_id}
    logged = [r.request_id for r in vendor.requests if r.method == "POST"]
    assert sorted(r["vendor_request_id"] for r in rows) == sorted(logged)


def test_attempt_export_refuses_what_it_cannot_write(run_store, tmp_path):
    store, run_id = run_store
    with pytest.raises(ExportError, match="no run nope"):
        export_run_attempts(store, "nope", "jsonl", tmp_path / "x.jsonl")
    with pytest.raises(ExportError, match="not one of csv, jsonl, parquet"):
        export_run_attempts(store, run_id, "pairs", tmp_path / "x.jsonl")
    with pytest.raises(ExportError, match="to a file"):
        export_run_attempts(store, run_id, "parquet", io.StringIO())
    assert export_run_attempts(store, run_id, "jsonl", tmp_path / "empty.jsonl").rows == 0  # no calls stored
    assert not (tmp_path / "x.jsonl").exists()
