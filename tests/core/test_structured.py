"""desk.core.structured: the verdict on an answer asked for JSON fitting a schema (parsed?
valid? the failing JSON path and message), and reading a schema the user gives."""

from __future__ import annotations

import pytest

from desk.core.structured import SchemaError, check_answer, read_schema, verdict_for

SCHEMA = {"type": "object", "required": ["city", "days"], "additionalProperties": False,
          "properties": {"city": {"type": "string"},
                         "days": {"type": "array", "items": {"type": "integer"}}}}


def test_a_valid_answer():
    verdict = check_answer('{"city": "Oslo", "days": [1, 2]}', SCHEMA)
    assert verdict.parsed and verdict.valid
    assert verdict.line() == "structured output: parsed, valid against the schema"
    assert verdict.as_dict() == {"parsed": True, "valid": True, "parse_error": None, "errors": []}


def test_where_it_breaks_the_schema_is_said_by_path():
    verdict = check_answer('{"city": 3, "days": [1, "two"]}', SCHEMA)
    assert verdict.parsed and not verdict.valid
    assert [(f.path, f.message) for f in verdict.failures] == [
        ("answer.city", "3 is not of type 'string'"), ("answer.days[1]", "'two' is not of type 'integer'")]
    assert verdict.line() == "structured output: parsed, INVALID at answer.city: 3 is not of type 'string' (+1 more)"
    assert verdict.lines()[1:] == ["  answer.city: 3 is not of type 'string'",
                                   "  answer.days[1]: 'two' is not of type 'integer'"]
    whole = check_answer('{"city": "Oslo"}', SCHEMA)
    assert [f.path for f in whole.failures] == ["answer"]  # a missing property is the object's fault


def test_an_answer_that_is_not_json_is_not_repaired():
    verdict = check_answer('```json\n{"city": "Oslo", "days": []}\n```', SCHEMA)
    assert not verdict.parsed and not verdict.valid
    assert "code fence" in verdict.parse_error
    assert verdict.line().startswith("structured output: NOT JSON (Expecting value")
    assert verdict.as_dict()["valid"] is False


def test_only_answers_asked_for_a_schema_get_a_verdict():
    assert verdict_for("{}", {"temperature": None}, ok=True) is None
    assert verdict_for("{", {"response_schema": SCHEMA}, ok=False) is None  # broke off: not judged
    assert verdict_for("{}", {"response_schema": SCHEMA}, ok=True).parsed


def test_reading_a_schema():
    assert read_schema('{"type": "object"}') == {"type": "object"}
    with pytest.raises(SchemaError, match="not valid JSON"):
        read_schema("{")
    with pytest.raises(SchemaError, match="must be a JSON object"):
        read_schema("[1]")
    with pytest.raises(SchemaError, match="not a valid JSON schema"):
        read_schema('{"type": "banana"}')
