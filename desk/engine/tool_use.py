"""A suite run's tool use per model: the rates of desk.core.tool_expect's measures over
the answers of its cases that offer tools, each with n, a Wilson interval and the
answers that failed it (with their case and trial, so a view can open each one)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from desk.core.response import Status
from desk.core.tool_expect import Rate, rates, tool_verdicts
from desk.engine.ports.suites import SuiteTables
from desk.engine.suite_reading import known_run, run_suite
from desk.store.suites import CellKey, counted_cells


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
    counts for each cell is the matrix's (the latest ok one). Each model's answers are
    judged in the order their cells were first answered. Only the cells of cases with
    tools are read (their statuses), and of them only the counted ok answers' tool calls."""
    info = known_run(suites, run_id)
    models = list(info.models)
    cases = {c.id: c for c in run_suite(suites, info).cases if c.tools is not None}
    verdicts: dict[str, list[tuple[str, dict[str, bool | None]]]] = {m: [] for m in models}
    places: dict[str, dict[str, AnswerPlace]] = {m: {} for m in models}
    if not cases:
        return [ToolUseScore(m, rates([]), 0, {}) for m in models]
    cells = [c for c in suites.cell_times(run_id) if c[0] in cases]
    chosen, _ = counted_cells(cells)
    first: dict[CellKey, tuple[float, int]] = {}  # when each cell's first answer was stored
    for cell in cells:
        first.setdefault(cell[:3], cell[5:])
    judged = sorted((key for key, cell in chosen.items() if cell[3] == Status.OK.value), key=first.__getitem__)
    calls = suites.tool_calls([chosen[key][4] for key in judged])
    trials = {(case_id, sample): trial_id for case_id, sample, trial_id in suites.run_trials(run_id)}
    for case_id, sample, model in judged:
        case, rid = cases[case_id], chosen[(case_id, sample, model)][4]
        verdicts.setdefault(model, []).append((rid, tool_verdicts(case.expected_call, calls.get(rid, []))))
        places.setdefault(model, {})[rid] = AnswerPlace(case.key, trials[(case_id, sample)])
    return [ToolUseScore(m, rates(v), len(v), places.get(m, {})) for m, v in verdicts.items()]
