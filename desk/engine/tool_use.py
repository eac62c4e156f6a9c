"""A suite run's tool use per model: the rates of desk.core.tool_expect's measures over
the answers of its cases that offer tools, each with n, a Wilson interval and the
answers that failed it (with their case and trial, so a view can open each one)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from desk.core.response import Status
from desk.core.tool_expect import Rate, rates, tool_verdicts
from desk.engine.ports.suites import SuiteTables
from desk.engine.suite_reading import _pick, run_parts


@dataclass(frozen=True)
class AnswerPlace:
    """Where an answer of a run is: its case (the suite's key) and the trial that holds it."""

    case_key: str
    trial_id: str


@dataclass(frozen=True)
class ToolUseScore:
    model: str
    rates: Mapping[str, Rate]  # by measure, in desk.core.tool_expect.MEASURES order
    answers: int  # ok answers of tool cases (failed requests are not judged on tool use)
    places: Mapping[str, AnswerPlace] = field(default_factory=dict)  # by response id, each answer judged


def tool_use(suites: SuiteTables, run_id: str) -> list[ToolUseScore]:
    """Each model of the run (in the run's order) with its tool-use rates; the answer that
    counts for each cell is the matrix's (the latest ok one)."""
    _, suite, models, by_cell = run_parts(suites, run_id)
    cases = {c.id: c for c in suite.cases if c.tools is not None}
    verdicts: dict[str, list[tuple[str, dict[str, bool | None]]]] = {m: [] for m in models}
    places: dict[str, dict[str, AnswerPlace]] = {m: {} for m in models}
    for (case_id, _sample, model), found in by_cell.items():
        case, chosen = cases.get(case_id), _pick(found)
        if case is None or chosen is None or chosen[1].status != Status.OK:
            continue
        trial_id, answer = chosen
        verdicts.setdefault(model, []).append((answer.id, tool_verdicts(case.expected_call, answer.tool_calls)))
        places.setdefault(model, {})[answer.id] = AnswerPlace(case.key, trial_id)
    return [ToolUseScore(m, rates(v), len(v), places.get(m, {})) for m, v in verdicts.items()]
