"""Exports read back without pandas: csv for CSV, json for JSON Lines, every column and field.

The fixture store holds one trial (a prompt that looks like a spreadsheet formula, a
system prompt, a data file and an image), three answers (one failed after a retry),
ratings by two raters under two rubric versions (one rating edited) and three
preferences (a decisive one, a tie, and one between answers to other system prompts).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from desk.core.attachment import attachment_from_bytes
from desk.core.provider import ProviderConfig
from desk.core.rating import Preference, Rating, RatingFilter
from desk.core.response import Attempt, ErrorKind, ResponseResult, Status, Usage
from desk.core.rubric import Criterion, Option
from desk.core.trial import TrialInput, Variant
from desk.engine.export import (
    CSV_COLUMNS,
    FORMATS,
    ExportError,
    export_file,
    preference_pairs,
    table_rows,
)
from desk.engine.export_files import PARQUET_MISSING, csv_cell
from desk.store import Store, open_store
from tests.engine.conftest import png

PROMPT = '=SUM(A1)\nthen say "why", in two lines'
SYSTEM = "You are a careful analyst."
ANSWER_X = "@x starts like a formula\r\nline two\twith a tab, é 中 😀"
ANSWER_Y = "-1+2"
ANSWER_Z = "partial answer before the server fell over"
DATA = b"name,amount\nwidget,3\n"


@dataclasses.dataclass
class Fixture:
    store: Store
    path: Path
    trial_id: str
    x: ResponseResult
    y: ResponseResult
    z: ResponseResult
    ann_x: Rating
    ann_y: Rating
    ann_z: Rating
    bob_x_old: Rating
    bob_x: Rating
    prefer_x: Preference
    tie: Preference
    v1_id: str
    v2_id: str
    attachments: list[Any]


def _response(trial_id: str, rid: str, model: str, text: str, **kw: Any) -> ResponseResult:
    base: dict[str, Any] = {
        "settings": {"temperature": 0.2, "max_tokens": 300, "reasoning_effort": None},
        "status": Status.OK,
        "finish_reason": "stop",
        "started_at": 1_700_000_000.0,
        "first_token_at": 1_700_000_000.25,
        "ended_at": 1_700_000_001.0,
        "ttft_ms": 250.0,
        "total_ms": 1000.0,
        "connect_ms": 12.5,
        "output_tokens_per_s": 42.5,
        "usage": Usage(input_tokens=100, output_tokens=33, cached_input_tokens=0, reasoning_tokens=None),
        "cost_usd": 0.00123,
        "cost_note": "",
        "price_source": "user",
        "vendor_request_id": f"req-{rid}",
        "attempts": [Attempt(number=1, started_at=1_700_000_000.0, first_token_at=1_700_000_000.25,
                             ended_at=1_700_000_001.0, http_status=200, status=Status.OK, ttft_ms=250.0,
                             total_ms=1000.0, connect_ms=12.5, vendor_request_id=f"req-{rid}",
                             ratelimit={"x-ratelimit-remaining-requests": "99"},
                             usage=Usage(100, 33, 0, None), cost_usd=0.00123)],
    }
    base.update(kw)
    return ResponseResult(id=rid, trial_id=trial_id, model=model, text=text, **base)


@pytest.fixture
def fx(tmp_path) -> Iterator[Fixture]:
    path = tmp_path / "fixture.db"
    store = open_store(path)
    attachments = [attachment_from_bytes("sales.csv", DATA), attachment_from_bytes("chart.png", png())]
    trial_id = store.trials.create(TrialInput(PROMPT, SYSTEM, tuple(attachments)))
    x = _response(trial_id, "RESPX", "oa/model-x", ANSWER_X, served_model="model-x-2026", system_fingerprint="fp_x")
    y = _response(trial_id, "RESPY", "an/model-y", ANSWER_Y, output_tokens_per_s=None, cost_usd=None,
                  cost_note="no price", price_source=None)
    z = _response(
        trial_id, "RESPZ", "ge/model-z", ANSWER_Z, status=Status.ERROR, error_kind=ErrorKind.SERVER_ERROR,
        error_message="upstream overloaded", http_status=503, finish_reason=None, total_ms=None,
        output_tokens_per_s=None, retries=1, retry_wait_ms=500.0,
        attempts=[
            Attempt(number=1, started_at=1.0, ended_at=1.5, http_status=503, status=Status.ERROR,
                    error_kind=ErrorKind.SERVER_ERROR, error_message="busy", retry_after_s=0.5),
            Attempt(number=2, started_at=2.0, ended_at=2.5, http_status=503, status=Status.ERROR,
                    error_kind=ErrorKind.SERVER_ERROR, error_message="upstream overloaded",
                    wait_before_ms=500.0),
        ],
    )
    for r in (x, y, z):
        store.responses.finish(r)

    v1 = store.rubrics.default()
    ann_x = store.ratings.save(x.id, "ann", {
        "outcome": "success", "uncertainty": "asked_clarifying", "constraints": "followed", "quality": 5,
        "note": "=HYPERLINK(\"http://evil\")", "tags": ["legal", "+plus"],
    }, blind=True, shown_order=(y.id, x.id, z.id))
    ann_y = store.ratings.save(y.id, "ann", {
        "outcome": "partial", "uncertainty": "confident_wrong", "constraints": "violated", "quality": 2,
        "note": "made up a figure", "tags": ["legal"],
    })
    ann_z = store.ratings.save(z.id, "ann", {"outcome": "failure"})  # failed: its outcome alone
    bob_x_old = store.ratings.save(x.id, "bob", {
        "outcome": "failure", "uncertainty": "confident_wrong", "constraints": "violated", "quality": 1,
    })
    sources = Criterion("sources", "Sources cited", "choice", (Option("yes", "Yes"), Option("no", "No")),
                        required=False)
    v2 = store.rubrics.save_version(dataclasses.replace(v1, criteria=(*v1.criteria, sources)))
    bob_x = store.ratings.save(x.id, "bob", {
        "outcome": "partial", "uncertainty": "stated_uncertainty", "constraints": "followed", "quality": 4,
        "sources": "yes",
    })
    prefer_x = store.ratings.save_preference(x.id, y.id, "a", "ann", reason="it asked before guessing")
    tie = store.ratings.save_preference(y.id, z.id, "tie", "bob")
    assert v1.id and v2.id
    yield Fixture(store, path, trial_id, x, y, z, ann_x, ann_y, ann_z, bob_x_old, bob_x, prefer_x, tie,
                  v1.id, v2.id, attachments)
    store.close()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: Excel reads a double-clicked file right
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, [dict(zip(header, row, strict=True)) for row in reader]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n") or text == ""
    return [json.loads(line) for line in text.splitlines()]


EXPECTED_HEADER = [
    "trial_id", "response_id", "turn", "parent_response_id", "rated_at", "prompt", "system", "attachments", "model", "variant", "answer",
    "status", "error_kind", "refusal", "unknown_fields", "tool_calls", "ttft_ms", "total_ms", "wall_ms", "input_tokens",
    "output_tokens", "output_tokens_per_s",
    "cost_usd", "retries", "served_model", "system_fingerprint", "outcome", "uncertainty", "constraints", "quality", "note", "tags", "sources",
    "rater", "rating_origin", "machine", "blind", "rubric_name", "rubric_version", "rating_id",
]  # fmt: skip


def expected_csv_rows(fx: Fixture) -> list[dict[str, str]]:
    common = {"trial_id": fx.trial_id, "turn": "1", "parent_response_id": "", "prompt": "'" + PROMPT, "system": SYSTEM,
              "attachments": "sales.csv; chart.png", "variant": "", "rubric_name": "default",
              "rating_origin": "", "machine": "false", "tool_calls": "[]"}
    x = {**common, "response_id": "RESPX", "model": "oa/model-x", "answer": "'" + ANSWER_X, "status": "ok",
         "error_kind": "", "refusal": "false", "unknown_fields": "", "ttft_ms": "250.0", "total_ms": "1000.0", "wall_ms": "1000.0", "input_tokens": "100",
         "output_tokens": "33", "output_tokens_per_s": "42.5", "cost_usd": "0.00123", "retries": "0",
         "served_model": "model-x-2026", "system_fingerprint": "fp_x"}
    return [
        {**x, "rated_at": iso(fx.ann_x.created_at), "outcome": "success", "uncertainty": "asked_clarifying",
         "constraints": "followed", "quality": "5", "note": "'=HYPERLINK(\"http://evil\")",
         "tags": "legal;+plus", "sources": "", "rater": "ann", "blind": "true", "rubric_version": "1",
         "rating_id": fx.ann_x.id},
        {**x, "rated_at": iso(fx.bob_x.created_at), "outcome": "partial", "uncertainty": "stated_uncertainty",
         "constraints": "followed", "quality": "4", "note": "", "tags": "", "sources": "yes", "rater": "bob",
         "blind": "false", "rubric_version": "2", "rating_id": fx.bob_x.id},
        {**common, "response_id": "RESPY", "model": "an/model-y", "answer": "'" + ANSWER_Y, "status": "ok",
         "error_kind": "", "refusal": "false", "unknown_fields": "", "ttft_ms": "250.0", "total_ms": "1000.0", "wall_ms": "1000.0", "input_tokens": "100",
         "output_tokens": "33", "output_tokens_per_s": "", "cost_usd": "", "retries": "0",
         "served_model": "", "system_fingerprint": "",
         "rated_at": iso(fx.ann_y.created_at), "outcome": "partial", "uncertainty": "confident_wrong",
         "constraints": "violated", "quality": "2", "note": "made up a figure", "tags": "legal",
         "sources": "", "rater": "ann", "blind": "false", "rubric_version": "1", "rating_id": fx.ann_y.id},
        {**common, "response_id": "RESPZ", "model": "ge/model-z", "answer": ANSWER_Z, "status": "error",
         "error_kind": "server_error", "refusal": "false", "unknown_fields": "",
         "ttft_ms": "250.0", "total_ms": "", "wall_ms": "1500.0", "input_tokens": "100",
         "output_tokens": "33", "output_tokens_per_s": "", "cost_usd": "0.00123", "retries": "1",
         "served_model": "", "system_fingerprint": "",
         "rated_at": iso(fx.ann_z.created_at), "outcome": "failure", "uncertainty": "",
         "constraints": "", "quality": "", "note": "", "tags": "", "sources": "", "rater": "ann",
         "blind": "false", "rubric_version": "1", "rating_id": fx.ann_z.id},
    ]


# --- CSV ---------------------------------------------------------------------------------------


def test_csv_every_column_of_every_rated_answer(fx, tmp_path):
    out = tmp_path / "ratings.csv"
    result = export_file(fx.store, "csv", out)
    assert (result.format, result.path, result.rows, result.skipped) == ("csv", str(out), 4, {})
    header, rows = read_csv(out)
    assert header == EXPECTED_HEADER
    assert header[: len(CSV_COLUMNS)] == list(CSV_COLUMNS)
    # One row per current rating: bob's edited rating appears once, as edited; ordered by
    # when the answer was stored, then rater.
    assert rows == expected_csv_rows(fx)
    assert fx.bob_x_old.id not in out.read_text(encoding="utf-8")


def test_csv_neutralises_formulas_in_text_only(fx, tmp_path):
    out = tmp_path / "ratings.csv"
    export_file(fx.store, "csv", out)
    _, rows = read_csv(out)
    x = rows[0]
    assert x["prompt"] == "'=SUM(A1)\nthen say \"why\", in two lines"
    assert x["answer"].startswith("'@x") and x["answer"][1:] == ANSWER_X  # \r\n and the tab kept
    assert rows[2]["answer"] == "'-1+2"
    assert x["tags"] == "legal;+plus"  # "+plus" is inside the cell, not at its start
    assert x["note"].startswith("'=HYPERLINK")
    for prefix in ("=", "+", "-", "@", "\t", "\r"):
        assert csv_cell(prefix + "1") == "'" + prefix + "1"
    assert csv_cell("a=b") == "a=b" and csv_cell("") == "" and csv_cell(None) == ""
    assert csv_cell(-1) == -1 and csv_cell(-0.5) == -0.5  # numbers are never touched
    assert csv_cell(True) == "true" and csv_cell(False) == "false"


def test_table_rows_hold_typed_values(fx):
    columns, rows = table_rows(fx.store)
    assert columns == EXPECTED_HEADER
    x = rows[0]
    assert x["prompt"] == PROMPT and x["answer"] == ANSWER_X  # untouched before CSV
    assert x["ttft_ms"] == 250.0 and x["quality"] == 5 and x["blind"] is True and x["rubric_version"] == 1
    assert rows[2]["cost_usd"] is None and rows[3]["total_ms"] is None


# --- JSON Lines ----------------------------------------------------------------------------------


def expected_response(fx: Fixture, r: ResponseResult) -> dict[str, Any]:
    return {
        "id": r.id, "trial_id": fx.trial_id, "model": r.model, "provider": r.model.split("/")[0],
        "model_name": r.model.split("/")[1], "variant": None, "system": SYSTEM, "settings": r.settings,
        "status": r.status.value, "error_kind": r.error_kind.value if r.error_kind else None,
        "error_message": r.error_message, "http_status": r.http_status, "text": r.text,
        "reasoning_text": "", "finish_reason": r.finish_reason, "started_at": r.started_at,
        "first_token_at": r.first_token_at, "ended_at": r.ended_at, "ttft_ms": r.ttft_ms,
        "total_ms": r.total_ms, "wall_ms": r.wall_ms, "connect_ms": r.connect_ms,
        "output_tokens_per_s": r.output_tokens_per_s,
        "input_tokens": 100, "output_tokens": 33, "cached_input_tokens": 0, "reasoning_tokens": None,
        "cost_usd": r.cost_usd, "cost_note": r.cost_note or None, "price_source": r.price_source,
        "retries": r.retries, "retry_wait_ms": r.retry_wait_ms, "vendor_request_id": r.vendor_request_id,
        "served_model": r.served_model, "system_fingerprint": r.system_fingerprint,
        "refusal": False, "unknown_fields": {}, "tool_calls": [],
        "notes": r.notes,
        "attempts": [
            {"number": a.number, "status": a.status.value,
             "error_kind": a.error_kind.value if a.error_kind else None, "error_message": a.error_message,
             "http_status": a.http_status, "started_at": a.started_at, "first_token_at": a.first_token_at,
             "ended_at": a.ended_at, "connect_ms": a.connect_ms, "ttft_ms": a.ttft_ms, "total_ms": a.total_ms,
             "retry_after_s": a.retry_after_s, "wait_before_ms": a.wait_before_ms,
             "vendor_request_id": a.vendor_request_id, "ratelimit": a.ratelimit,
             "input_tokens": a.usage.input_tokens, "output_tokens": a.usage.output_tokens,
             "cached_input_tokens": a.usage.cached_input_tokens, "reasoning_tokens": a.usage.reasoning_tokens,
             "cost_usd": a.cost_usd}
            for a in r.attempts
        ],
        "turn": 1, "parent_response_id": None,
    }  # fmt: skip


def expected_rating(fx: Fixture, rating: Rating, rubric_id: str, version: int) -> dict[str, Any]:
    return {
        **rating.values,
        "id": rating.id, "response_id": rating.response_id, "created_at": rating.created_at,
        "rated_at": iso(rating.created_at), "rater": rating.rater, "machine": False, "origin": None,
        "blind": rating.blind,
        "shown_order": list(rating.shown_order), "supersedes": rating.supersedes,
        "rubric": {"id": rubric_id, "name": "default", "version": version},
    }  # fmt: skip


def test_jsonl_nests_trial_response_and_rating(fx, tmp_path):
    out = tmp_path / "ratings.jsonl"
    assert export_file(fx.store, "jsonl", out).rows == 4
    records = read_jsonl(out)
    trial = fx.store.trials.get(fx.trial_id)
    assert trial is not None
    expected_trial = {
        "id": fx.trial_id, "created_at": trial.created_at, "parent_trial_id": None, "prompt": PROMPT,
        "system": SYSTEM,
        "attachments": [
            {"name": "sales.csv", "kind": "data", "mime": fx.attachments[0].mime,
             "sha256": fx.attachments[0].sha256, "size": len(DATA)},
            {"name": "chart.png", "kind": "image", "mime": "image/png", "sha256": fx.attachments[1].sha256,
             "size": len(png())},
        ],
        "tools": None, "tool_rounds": None,
    }  # fmt: skip
    assert [set(r) for r in records] == [{"trial", "response", "rating"}] * 4
    assert all(r["trial"] == expected_trial for r in records)
    assert [r["response"] for r in records] == [
        expected_response(fx, fx.x), expected_response(fx, fx.x), expected_response(fx, fx.y),
        expected_response(fx, fx.z),
    ]
    assert [r["rating"] for r in records] == [
        expected_rating(fx, fx.ann_x, fx.v1_id, 1),
        expected_rating(fx, fx.bob_x, fx.v2_id, 2),
        expected_rating(fx, fx.ann_y, fx.v1_id, 1),
        expected_rating(fx, fx.ann_z, fx.v1_id, 1),
    ]
    # The bob rating is the edit: it names the one it replaced.
    assert records[1]["rating"]["supersedes"] == fx.bob_x_old.id
    assert records[1]["rating"]["sources"] == "yes"
    assert records[0]["rating"]["tags"] == ["legal", "+plus"]


def test_jsonl_text_is_exactly_as_written(fx, tmp_path):
    out = tmp_path / "ratings.jsonl"
    export_file(fx.store, "jsonl", out)
    records = read_jsonl(out)
    assert records[0]["trial"]["prompt"] == PROMPT  # "=SUM(A1)..." with no apostrophe
    assert records[0]["response"]["text"] == ANSWER_X  # "@x...", \r\n, tab and emoji intact
    assert records[2]["response"]["text"] == ANSWER_Y  # "-1+2"
    assert records[0]["rating"]["note"] == "=HYPERLINK(\"http://evil\")"
    assert "中 😀" in out.read_text(encoding="utf-8")  # UTF-8, not \u escapes
    assert b"'=SUM" not in out.read_bytes() and b"'@x" not in out.read_bytes()


def test_attachments_go_by_hash_never_bytes(fx, tmp_path):
    for fmt in ("csv", "jsonl"):
        out = tmp_path / f"out.{fmt}"
        export_file(fx.store, fmt, out)
        text = out.read_text(encoding="utf-8")
        assert "widget,3" not in text  # the data file's content
        assert "iVBOR" not in text and "\\x89PNG" not in text  # nor the image, in any encoding


# --- preference pairs ----------------------------------------------------------------------------


def test_pairs_one_line_per_decisive_preference(fx, tmp_path):
    out = tmp_path / "pairs.jsonl"
    result = export_file(fx.store, "pairs", out)
    assert result.rows == 1 and result.skipped == {"tie or both bad": 1}
    assert read_jsonl(out) == [{
        "prompt": PROMPT, "system": SYSTEM, "chosen": ANSWER_X, "rejected": ANSWER_Y,
        "chosen_model": "oa/model-x", "rejected_model": "an/model-y", "rater": "ann", "origin": None,
        "machine": False, "reason": "it asked before guessing", "trial_id": fx.trial_id, "preference_id": fx.prefer_x.id,
    }]  # fmt: skip


def test_pairs_winner_b_and_both_bad_and_edits(fx):
    # ann changes her mind: b wins now. Only her current preference counts.
    edited = fx.store.ratings.save_preference(fx.y.id, fx.x.id, "b", "ann", reason="on reflection")
    fx.store.ratings.save_preference(fx.x.id, fx.z.id, "both_bad", "ann")
    pairs, skipped = preference_pairs(fx.store)
    assert [(p["chosen"], p["rejected"], p["preference_id"], p["reason"]) for p in pairs] == [
        (ANSWER_X, ANSWER_Y, edited.id, "on reflection")
    ]
    assert skipped == {"tie or both bad": 2}


def test_pairs_skip_answers_given_different_system_prompts(tmp_path):
    with open_store(tmp_path / "v.db") as store:
        trial_id = store.trials.create(TrialInput("Summarise.", "Be terse."))
        a = _response(trial_id, "A", "oa/m", "terse", variant=Variant("terse", "Be terse."))
        b = _response(trial_id, "B", "oa/m", "chatty", variant=Variant("chatty", "Be chatty."))
        c = _response(trial_id, "C", "an/m", "also terse", variant=Variant("terse", "Be terse."))
        for r in (a, b, c):
            store.responses.finish(r)
        store.ratings.save_preference(a.id, b.id, "a", "ann")
        store.ratings.save_preference(c.id, a.id, "b", "ann")
        pairs, skipped = preference_pairs(store)
        assert skipped == {"answers given different system prompts": 1}
        assert [(p["chosen"], p["rejected"], p["system"]) for p in pairs] == [("terse", "also terse", "Be terse.")]
        # The CSV says which system prompt each answer really got.
        store.ratings.save(b.id, "ann", {"outcome": "failure", "uncertainty": "confident_wrong",
                                        "constraints": "na", "quality": 1})
        _, rows = table_rows(store)
        assert [(r["variant"], r["system"]) for r in rows] == [("chatty", "Be chatty.")]


# --- filters -------------------------------------------------------------------------------------


def test_filters_select_ratings_and_pairs(fx):
    def rated(**kw: Any) -> list[tuple[str, str]]:
        return [(r["response_id"], r["rater"]) for r in table_rows(fx.store, RatingFilter(**kw))[1]]

    everything = [("RESPX", "ann"), ("RESPX", "bob"), ("RESPY", "ann"), ("RESPZ", "ann")]
    assert rated() == everything
    assert rated(rater="bob") == [("RESPX", "bob")]
    assert rated(tags=("legal",)) == [("RESPX", "ann"), ("RESPY", "ann")]
    assert rated(tags=("legal", "+plus")) == [("RESPX", "ann")]
    assert rated(trial_ids=(fx.trial_id,)) == everything
    assert rated(trial_ids=("other",)) == []
    assert rated(since=fx.bob_x.created_at) == [("RESPX", "bob")]
    assert rated(until=fx.ann_y.created_at) == [("RESPX", "ann")]

    def pairs(**kw: Any) -> list[str]:
        return [p["preference_id"] for p in preference_pairs(fx.store, RatingFilter(**kw))[0]]

    assert pairs() == [fx.prefer_x.id]
    assert pairs(rater="bob") == [] and pairs(rater="ann") == [fx.prefer_x.id]
    assert pairs(tags=("legal",)) == [fx.prefer_x.id]  # both answers carry the tag
    assert pairs(tags=("+plus",)) == []  # only one of them does
    assert pairs(trial_ids=("other",)) == [] and pairs(trial_ids=(fx.trial_id,)) == [fx.prefer_x.id]
    assert pairs(since=fx.prefer_x.created_at + 1) == []
    assert pairs(until=fx.prefer_x.created_at) == []


def test_empty_export_writes_a_header_or_nothing(tmp_path):
    with open_store(tmp_path / "empty.db") as store:
        export_file(store, "csv", tmp_path / "e.csv")
        export_file(store, "jsonl", tmp_path / "e.jsonl")
        assert export_file(store, "pairs", tmp_path / "p.jsonl").rows == 0
    header = [*CSV_COLUMNS, "rater", "rating_origin", "machine", "blind", "rubric_name", "rubric_version", "rating_id"]
    assert read_csv(tmp_path / "e.csv") == (header, [])
    assert (tmp_path / "e.jsonl").read_bytes() == b"" and (tmp_path / "p.jsonl").read_bytes() == b""


# --- files, errors, secrets ----------------------------------------------------------------------


def test_export_to_a_stream(fx):
    buffer = io.StringIO()
    assert export_file(fx.store, "pairs", buffer).rows == 1
    assert json.loads(buffer.getvalue())["chosen"] == ANSWER_X


def test_unwritable_target_is_a_plain_error_and_leaves_nothing(fx, tmp_path):
    with pytest.raises(ExportError, match=r"cannot write .*missing.*out\.csv"):
        export_file(fx.store, "csv", tmp_path / "missing" / "out.csv")
    with pytest.raises(ExportError, match="not one of csv, jsonl, pairs, parquet"):
        export_file(fx.store, "xlsx", tmp_path / "out.xlsx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fixture.db", "fixture.db-shm", "fixture.db-wal"]


def test_overwrites_whole_files_with_the_usual_mode(fx, tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("old content that is longer than nothing\n" * 100)
    export_file(fx.store, "csv", out)
    assert "old content" not in out.read_text(encoding="utf-8")
    if os.name == "posix":
        umask = os.umask(0o022)
        os.umask(umask)
        assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # the mode of the file it replaced
        fresh = tmp_path / "fresh.csv"
        export_file(fx.store, "csv", fresh)
        assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_parquet_without_pyarrow_is_one_plain_sentence(fx, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed, even where it is
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ExportError) as caught:
        export_file(fx.store, "parquet", tmp_path / "out.parquet")
    assert str(caught.value) == PARQUET_MISSING == "Parquet needs the optional extra: pip install 'desk[parquet]'"
    assert not (tmp_path / "out.parquet").exists()
    assert "parquet" in FORMATS


def test_no_api_key_is_ever_exported(fx, tmp_path, monkeypatch):
    secret = "sk-test-" + "9" * 40
    monkeypatch.setenv("OA_KEY", secret)
    fx.store.providers.add(ProviderConfig(name="oa", kind="openai", base_url="https://api.openai.com/v1",
                                         key_env="OA_KEY"))
    import keyring

    keyring.set_password("desk", "oa", secret)
    for fmt in ("csv", "jsonl", "pairs"):
        out = tmp_path / f"k.{fmt}"
        export_file(fx.store, fmt, out)
        assert secret not in out.read_text(encoding="utf-8")
        assert "OA_KEY" not in out.read_text(encoding="utf-8")


# --- with the data-science stack, where it is installed -------------------------------------------


def test_parquet_round_trip(fx, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "ratings.parquet"
    assert export_file(fx.store, "parquet", out).rows == 4
    table = pq.read_table(out)
    assert table.column_names == EXPECTED_HEADER
    rows = table.to_pylist()
    _, expected = table_rows(fx.store)
    assert rows == expected  # same rows as the CSV, typed, text untouched
    assert rows[0]["prompt"] == PROMPT and rows[0]["answer"] == ANSWER_X
    assert str(table.schema.field("ttft_ms").type) == "double"
    assert str(table.schema.field("quality").type) == "int64"
    assert str(table.schema.field("blind").type) == "bool"


def test_pandas_and_datasets_read_the_exports(fx, tmp_path, monkeypatch):
    pd = pytest.importorskip("pandas")
    export_file(fx.store, "csv", tmp_path / "r.csv")
    export_file(fx.store, "jsonl", tmp_path / "r.jsonl")
    export_file(fx.store, "pairs", tmp_path / "p.jsonl")

    frame = pd.read_csv(tmp_path / "r.csv", keep_default_na=False, dtype=str)
    assert list(frame.columns) == EXPECTED_HEADER
    assert frame.to_dict("records") == expected_csv_rows(fx)
    numbers = pd.read_csv(tmp_path / "r.csv")
    assert numbers["ttft_ms"].tolist() == [250.0] * 4
    assert numbers["quality"].tolist()[:3] == [5, 4, 2] and pd.isna(numbers["quality"][3])  # failed: no quality

    nested = pd.read_json(tmp_path / "r.jsonl", lines=True)
    assert nested["response"].map(lambda r: r["text"]).tolist() == [ANSWER_X, ANSWER_X, ANSWER_Y, ANSWER_Z]
    pairs = pd.read_json(tmp_path / "p.jsonl", lines=True)
    assert pairs.loc[0, "chosen"] == ANSWER_X and pairs.loc[0, "rejected"] == ANSWER_Y

    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    ds = datasets.load_dataset("json", data_files=str(tmp_path / "p.jsonl"), split="train",
                               cache_dir=str(tmp_path / "hf"))
    assert ds.num_rows == 1 and ds[0]["prompt"] == PROMPT and ds[0]["rejected"] == ANSWER_Y
