"""A model as judge (issue 14): what it is shown, the form its verdict must take, and how
a reply becomes a verdict or a judge error.

The judge sees what a blind human rater sees: the task (system prompt, prompt, text
attachments), one answer and the rubric's criteria. Never the model's name, its timing
or its cost. Its reply is validated against a JSON schema built from the rubric; a reply
that does not parse or validate is a judge error kept with its raw text, never repaired.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from string import Template
from typing import Any

from desk.core.rubric import Criterion, Rubric
from desk.core.suite import AUTO_RATER
from desk.core.trial import TrialInput, data_file_block

JUDGE_PREFIX = "judge:"  # a judge's verdicts are ratings by the rater "judge:PROVIDER/MODEL"
RATIONALE = "rationale"  # the verdict's short reason, kept beside the rating, not in it
DEFAULT_PROMPT_NAME = "default"

DEFAULT_TEMPLATE = """You are rating one answer an AI model gave to a task, as a careful expert rater would.
Judge only the answer below against the task; you are not told which model wrote it.

## The task
System prompt given to the model:
${system}

${attachments}Prompt:
${prompt}

## The answer
${answer}

## How to rate
${criteria}

Reply with one JSON object holding a value for each criterion key above and a short
"rationale" (one to three sentences) saying why."""

PLACEHOLDERS = ("system", "attachments", "prompt", "answer", "criteria")


def judge_rater(model: str) -> str:
    """The rater name of the judge `model` (PROVIDER/MODEL)."""
    return f"{JUDGE_PREFIX}{model}"


def is_judge(rater: str) -> bool:
    return rater.startswith(JUDGE_PREFIX)


def is_machine(rater: str) -> bool:
    """Whether `rater` is desk itself (constraint checks) or a judge model: never a person."""
    return rater == AUTO_RATER or is_judge(rater)


@dataclass(frozen=True)
class JudgePrompt:
    """One stored version of a judge prompt template (`id` set once stored)."""

    name: str
    version: int
    template: str
    id: str | None = None


# OpenAI's reasoning models take only their default temperature (anything else is a 400).
_DEFAULT_TEMPERATURE_ONLY = re.compile(r"^(o1|o3|o4|gpt-5)(?!.*-chat)", re.IGNORECASE)


def parse_temperature(text: str) -> float | None:
    """A judge temperature as a person types it (`desk judge --temperature`, the window's
    Judge dialog): a number, or "default" (None: the vendor's own). ValueError otherwise."""
    text = text.strip()
    if text.lower() == "default":
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"not a number nor 'default': {text!r}") from None


def judge_temperature(model: str, asked: float | None) -> float | None:
    """The temperature to judge with: as asked (0 by default), except for a model that takes
    only its vendor's default, which is sent none (None)."""
    return None if _DEFAULT_TEMPERATURE_ONLY.match(model) else asked


def template_problems(template: str) -> list[str]:
    """What makes a template unusable: an unknown placeholder, or none for the answer."""
    problems: list[str] = []
    named = {m.group("named") or m.group("braced") for m in Template.pattern.finditer(template)
             if m.group("named") or m.group("braced")}
    unknown = sorted(named - set(PLACEHOLDERS))
    if unknown:
        problems.append(f"unknown placeholders: {', '.join('$' + u for u in unknown)} "
                        f"(known: {', '.join('$' + p for p in PLACEHOLDERS)})")
    if "answer" not in named:
        problems.append("the template must show the answer ($answer)")
    if not template.strip():
        problems.append("the template is empty")
    return problems


def judged_criteria(rubric: Rubric) -> tuple[Criterion, ...]:
    """The criteria a judge gives: the required choices and scales (free notes and tags are a person's)."""
    return tuple(c for c in rubric.criteria if c.required and c.kind in ("choice", "scale"))


def verdict_schema(rubric: Rubric) -> dict[str, Any]:
    """The JSON schema a verdict must follow: each judged criterion plus a rationale, nothing else."""
    properties: dict[str, Any] = {}
    for c in judged_criteria(rubric):
        if c.kind == "choice":
            properties[c.key] = {"type": "string", "enum": list(c.option_keys())}
        else:  # an enum, not minimum/maximum: OpenAI's strict schemas take enums everywhere
            properties[c.key] = {"type": "integer", "enum": list(range(c.low, c.high + 1))}
    properties[RATIONALE] = {"type": "string"}
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


def criteria_text(rubric: Rubric) -> str:
    lines: list[str] = []
    for c in judged_criteria(rubric):
        if c.kind == "choice":
            lines.append(f"- {c.key} ({c.label}): one of")
            lines += [f"    - {o.key}: {o.label}" + (f" ({o.hint})" if o.hint else "") for o in c.options]
        else:
            lines.append(f"- {c.key} ({c.label}): a whole number from {c.low} (worst) to {c.high} (best)")
    return "\n".join(lines)


def judge_input(template: str, task: TrialInput, answer: str, rubric: Rubric, *,
                images: bool = False) -> TrialInput:
    """The judge's request for one answer: the template filled in with what a blind rater
    sees. The task's images go along only when `images` (the judge model takes them)."""
    attachments = "".join(data_file_block(a) + "\n\n" for a in task.data_files)
    text = Template(template).safe_substitute(
        system=task.system if task.system else "(none)",
        attachments=("Attached files:\n" + attachments) if attachments else "",
        prompt=task.prompt,
        answer=answer,
        criteria=criteria_text(rubric),
    )
    return TrialInput(text, None, task.images if images else ())


def missing_validator() -> str | None:
    """Why verdicts cannot be validated here (the jsonschema package is missing), or None."""
    import importlib.util

    if importlib.util.find_spec("jsonschema") is None:
        return "judging needs the jsonschema package to validate verdicts: pip install 'jsonschema>=4.18'"
    return None


class VerdictError(ValueError):
    """A judge's reply that is not a verdict (not JSON, or not what the schema asks)."""


@dataclass(frozen=True)
class Verdict:
    values: Mapping[str, Any]  # the rubric's fields, as a rating stores them
    rationale: str


def parse_verdict(text: str, schema: Mapping[str, Any]) -> Verdict:
    """The verdict in a judge's reply, or VerdictError saying why it is none. Nothing is
    guessed: the whole reply must be one JSON object that validates against `schema`."""
    import jsonschema  # on first use: only judging needs it (and it takes a while to import)

    try:
        reply = json.loads(text)
    except ValueError as exc:
        raise VerdictError(f"the reply is not JSON ({exc})") from None
    try:
        jsonschema.validate(reply, dict(schema))
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "the reply"
        raise VerdictError(f"{where}: {exc.message}") from None
    values = {k: v for k, v in reply.items() if k != RATIONALE}
    return Verdict(values, str(reply.get(RATIONALE, "")))
