"""What a report needs to read an export right (issues 14, 16, 17): a judge model's rating
says `machine` true and a person's false in every format; each answer's tool calls (CSV and
Parquet as JSON text, the list JSON Lines gives) and its conversation turn come back
through pandas."""

from __future__ import annotations

import json

import pytest

from desk.core.conversation import TurnLink
from desk.core.judge import judge_rater
from desk.core.response import ResponseResult, Status
from desk.core.tools import ToolCall
from desk.core.trial import TrialInput
from desk.engine.export import export_file
from desk.store import open_store

JUDGE = judge_rater("oa/judge-1")
CALLS = [ToolCall("get_weather", '{"city": "Paris"}', "call_1"),
         ToolCall("get_time", '{"zone": 3', None, ["arguments are not valid JSON"])]
VALUES = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "followed", "quality": 4}


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "columns.db")
    trial = s.trials.create(TrialInput("What is the weather in Paris?"))
    first = ResponseResult(id="first", trial_id=trial, model="oa/m", settings={}, status=Status.OK,
                           text="Let me look.", tool_calls=CALLS)
    second = ResponseResult(id="second", trial_id=trial, model="oa/m", settings={}, status=Status.OK,
                            text="Sunny, 21 °C.")
    s.responses.finish(first)
    s.responses.finish(second)
    s.turns.add(TurnLink("second", "first", 2, "And now?"))
    s.ratings.save("first", "ann", VALUES)
    s.ratings.save("first", JUDGE, VALUES)
    s.ratings.save("second", "ann", VALUES)
    yield s
    s.close()


def _rows(store, fmt, tmp_path) -> list[dict]:
    """The exported rows of `fmt` as plain dicts (through pandas for csv and parquet)."""
    pd = pytest.importorskip("pandas")
    out = tmp_path / f"out.{fmt}"
    export_file(store, fmt, out)
    if fmt == "csv":
        frame = pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False, dtype=str)
    elif fmt == "parquet":
        pytest.importorskip("pyarrow")
        frame = pd.read_parquet(out)
    else:
        return [{**r["response"], **{f"rating_{k}": v for k, v in r["rating"].items()}}
                for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())]
    return frame.to_dict("records")


def _missing(value) -> bool:
    return value is None or value == "" or value != value  # pandas reads a missing text as NaN


def _flag(value) -> bool:
    return value if isinstance(value, bool) else {"true": True, "false": False}[value]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_a_judges_rating_is_marked_machine_and_a_persons_is_not(store, fmt, tmp_path):
    rows = _rows(store, fmt, tmp_path)
    rater, machine = ("rating_rater", "rating_machine") if fmt == "jsonl" else ("rater", "machine")
    assert sorted((r[rater], _flag(r[machine])) for r in rows) == [("ann", False), ("ann", False), (JUDGE, True)]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_tool_calls_and_the_second_turn_come_back(store, fmt, tmp_path):
    rows = _rows(store, fmt, tmp_path)
    by_answer = {(r["id"] if fmt == "jsonl" else r["response_id"]): r for r in rows}
    first, second = by_answer["first"], by_answer["second"]
    calls = first["tool_calls"] if fmt == "jsonl" else json.loads(first["tool_calls"])
    assert [(c["name"], c["arguments"], c["id"], c["problems"]) for c in calls] == [
        ("get_weather", '{"city": "Paris"}', "call_1", []),  # valid: no problem found
        ("get_time", '{"zone": 3', None, ["arguments are not valid JSON"]),
    ]
    assert (second["tool_calls"] if fmt == "jsonl" else json.loads(second["tool_calls"])) == []
    assert int(first["turn"]) == 1 and _missing(first["parent_response_id"])
    assert int(second["turn"]) == 2 and second["parent_response_id"] == "first"


def test_pairs_say_when_a_judge_chose(store, tmp_path):
    store.ratings.save_preference("first", "second", "a", JUDGE)
    store.ratings.save_preference("first", "second", "b", "ann")
    out = tmp_path / "pairs.jsonl"
    export_file(store, "pairs", out)
    pairs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted((p["rater"], p["machine"]) for p in pairs) == [("ann", False), (JUDGE, True)]
