"""What a judge is asked and how its reply is read (issue 14): the schema is the rubric's
required choices and scales plus a rationale; a reply is a verdict only if it is one JSON
object valid against it; the template's placeholders are checked; images go only when asked."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("jsonschema")

from desk.core.attachment import attachment_from_bytes
from desk.core.judge import (
    DEFAULT_TEMPLATE,
    VerdictError,
    is_machine,
    judge_input,
    judge_rater,
    parse_verdict,
    template_problems,
    verdict_schema,
)
from desk.core.rubric import DEFAULT_RUBRIC
from desk.core.trial import TrialInput
from tests.media import png

SCHEMA = verdict_schema(DEFAULT_RUBRIC)
GOOD = {"outcome": "partial", "uncertainty": "stated_uncertainty", "constraints": "followed", "quality": 5,
        "rationale": "Hedged well."}


def test_the_schema_is_the_rubrics_required_choices_and_scales_and_a_rationale():
    assert SCHEMA["required"] == ["outcome", "uncertainty", "constraints", "quality", "rationale"]
    assert SCHEMA["additionalProperties"] is False
    assert SCHEMA["properties"]["quality"] == {"type": "integer", "enum": [1, 2, 3, 4, 5]}
    assert SCHEMA["properties"]["constraints"]["enum"] == ["followed", "violated", "na"]


def test_a_valid_reply_is_a_verdict():
    verdict = parse_verdict(json.dumps(GOOD), SCHEMA)
    assert dict(verdict.values) == {k: v for k, v in GOOD.items() if k != "rationale"}
    assert verdict.rationale == "Hedged well."
    assert DEFAULT_RUBRIC.validate(dict(verdict.values)) == []


@pytest.mark.parametrize(("reply", "why"), [
    ("```json\n" + json.dumps(GOOD) + "\n```", "not JSON"),  # never unwrapped or repaired
    (json.dumps({**GOOD, "quality": 6}), "quality: 6 is not one of [1, 2, 3, 4, 5]"),
    (json.dumps({**GOOD, "quality": "5"}), "quality: '5' is not"),
    (json.dumps({**GOOD, "mood": "happy"}), "Additional properties are not allowed"),
    (json.dumps([GOOD]), "is not of type 'object'"),
])
def test_anything_else_is_a_verdict_error(reply, why):
    with pytest.raises(VerdictError) as err:
        parse_verdict(reply, SCHEMA)
    assert why in str(err.value)


def test_template_placeholders_are_checked():
    assert template_problems(DEFAULT_TEMPLATE) == []
    assert template_problems("$prompt only") == ["the template must show the answer ($answer)"]
    assert "unknown placeholders: $model" in template_problems("$answer by $model")[0]


def test_the_request_holds_the_task_and_images_only_when_asked():
    data = attachment_from_bytes("d.csv", b"a,b\n1,2\n")
    image = attachment_from_bytes("dot.png", png())
    task = TrialInput("Sum the columns.", None, (data, image))
    plain = judge_input(DEFAULT_TEMPLATE, task, "3", DEFAULT_RUBRIC)
    assert plain.attachments == () and plain.system is None
    assert '<file name="d.csv">\na,b\n1,2\n\n</file>' in plain.prompt and "Sum the columns." in plain.prompt
    assert "(none)" in plain.prompt and "- quality (Quality): a whole number from 1" in plain.prompt
    assert judge_input(DEFAULT_TEMPLATE, task, "3", DEFAULT_RUBRIC, images=True).attachments == (image,)


def test_judges_and_desks_checks_are_machines():
    assert judge_rater("p/m") == "judge:p/m"
    assert is_machine("judge:p/m") and is_machine("auto") and not is_machine("alice")
