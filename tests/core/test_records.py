"""One mapping per record type: every view of a response or an attempt (CLI --json, export
rows and records, store columns) reads desk.core.records, which follows the dataclasses."""

from __future__ import annotations

from dataclasses import fields

from desk.core.rating import Preference, Rating
from desk.core.records import (
    USAGE_FIELDS,
    attempt_fields,
    attempt_from_fields,
    preference_fields,
    preference_from_fields,
    rating_fields,
    rating_from_fields,
    response_fields,
    response_from_fields,
)
from desk.core.response import Attempt, ErrorKind, ResponseResult, Status, UnknownField, Usage
from desk.core.trial import Variant


def _response() -> ResponseResult:
    attempt = Attempt(1, 10.0, 10.1, 10.5, 429, Status.ERROR, ErrorKind.RATE_LIMITED, "slow down",
                      ratelimit={"retry-after": "1"}, usage=Usage(1, 2, 3, 4), cost_usd=0.5)
    return ResponseResult(
        "r1", "t1", "p/m", {"temperature": 0.2}, Status.OK, text="hi", usage=Usage(5, None, 0, None),
        attempts=[attempt, Attempt(2, 11.0, ended_at=11.25, status=Status.OK)], variant=Variant("v", None),
        unknown_fields={"delta.audio": UnknownField(2, ['"x"'])}, notes=["n"], refusal=True,
        served_model="m-2", store_error="disk full")


def test_a_response_round_trips_through_its_fields():
    r = _response()
    assert response_from_fields(response_fields(r)) == r
    assert attempt_from_fields(attempt_fields(r.attempts[0])) == r.attempts[0]


def test_the_fields_follow_the_dataclass():
    values = response_fields(_response())
    stored = [f.name for f in fields(ResponseResult) if f.compare and f.name != "usage"]
    assert set(stored) | set(USAGE_FIELDS) <= set(values)
    assert values["status"] == "ok" and values["input_tokens"] == 5 and values["output_tokens"] is None
    assert values["variant"] == {"label": "v", "system": None}
    assert values["unknown_fields"] == {"delta.audio": {"count": 2, "raw": ['"x"']}}
    assert (values["provider"], values["model_name"], values["wall_ms"]) == ("p", "m", 1250.0)
    assert values["store_error"] == "disk full"
    assert values["attempts"][0]["error_kind"] == "rate_limited"
    assert values["attempts"][0]["ratelimit"] == {"retry-after": "1"}
    assert "chunk_times" not in values and "attempt_span" not in values  # scratch, not a record


def test_fields_are_copies_not_the_records_own_lists():
    r = _response()
    values = response_fields(r)
    values["notes"].append("more")
    values["settings"]["x"] = 1
    assert r.notes == ["n"] and "x" not in r.settings


def test_ratings_and_preferences_round_trip_through_their_fields():
    rating = Rating("g1", "r1", "ann", "default", 5.0, {"outcome": "success", "tags": ("a", "b")},
                    blind=True, shown_order=("r2", "r1"), supersedes="g0", origin="other")
    values = rating_fields(rating)
    assert list(values) == [f.name for f in fields(Rating)]
    assert values["values"] == {"outcome": "success", "tags": ["a", "b"]} and values["shown_order"] == ["r2", "r1"]
    back = rating_from_fields(values)
    assert (back.shown_order, back.values["tags"]) == (("r2", "r1"), ["a", "b"])
    assert rating_from_fields(rating_fields(back)) == back

    pref = Preference("p1", "r1", "r2", "a", "ann", 6.0, reason="shorter", blind=True, shown_order=("r1", "r2"))
    values = preference_fields(pref)
    assert list(values) == [f.name for f in fields(Preference)] and values["shown_order"] == ["r1", "r2"]
    assert preference_from_fields(values) == pref
