"""Reading a suite run back: the answer that counts for each cell, the matrix of cases x
models, the rating queue, constraint disagreements and the units a scorecard pairs on."""

from __future__ import annotations

from desk.core.judge import is_machine
from desk.core.rating import Rating
from desk.core.response import ResponseResult, Status
from desk.core.suite import AUTO_RATER, Suite, handled
from desk.engine.ports.ratings import TurnLookup
from desk.engine.ports.suites import RatingLookup, SuiteTables
from desk.engine.scorecard import combined_rating
from desk.engine.suite_records import (
    Disagreement,
    MatrixCell,
    QueueItem,
    RatingSummary,
    SuiteMatrix,
    SuiteRunError,
    SuiteRunInfo,
)
from desk.engine.suite_run import find_run


def _pick(responses: list[tuple[str, ResponseResult]]) -> tuple[str, ResponseResult] | None:
    """The answer that counts for a cell: the latest ok one, else the latest."""
    ok = [p for p in responses if p[1].status == Status.OK]
    chosen = ok or responses
    return chosen[-1] if chosen else None


Cells = dict[tuple[str, int, str], list[tuple[str, ResponseResult]]]  # (case id, sample, model) -> (trial, answer)


def known_run(suites: SuiteTables, run_id: str) -> SuiteRunInfo:
    """A run as listed; SuiteRunError when there is none."""
    info = find_run(suites, run_id)
    if info is None:
        raise SuiteRunError(f"no suite run {run_id!r}")
    return info


def run_contents(suites: SuiteTables, info: SuiteRunInfo) -> tuple[Suite, Cells]:
    """A run already read: its suite and every answer of each cell, oldest first."""
    suite = suites.get_suite_by_id(info.suite_id)
    if suite is None:
        raise SuiteRunError(f"suite run {info.run_id}: its suite is not in this store")
    by_cell: Cells = {}
    for cell in suites.run_cells(info.run_id):
        by_cell.setdefault((cell.case_id, cell.sample, cell.response.model), []).append(
            (cell.trial_id, cell.response))
    return suite, by_cell


def run_parts(suites: SuiteTables, run_id: str) -> tuple[SuiteRunInfo, Suite, list[str], Cells]:
    """A run as listed, its suite, its models and every answer of each cell, oldest first."""
    info = known_run(suites, run_id)
    suite, by_cell = run_contents(suites, info)
    return info, suite, list(info.models), by_cell


def matrix(suites: SuiteTables, ratings_of: RatingLookup, run_id: str, turns: TurnLookup | None = None) -> SuiteMatrix:
    """Cases x models (x samples) of a run: each cell's answer, timing, cost and ratings,
    and (with `turns`) its turn."""
    info, suite, models, by_cell = run_parts(suites, run_id)
    trials = {(case_id, sample): trial_id for case_id, sample, trial_id in suites.run_trials(run_id)}
    chosen = {key: _pick(found) for key, found in by_cell.items()}
    ids = [p[1].id for p in chosen.values() if p is not None]
    ratings: dict[str, list[Rating]] = {}
    for rating in ratings_of.current(ids) if ids else []:
        ratings.setdefault(rating.response_id, []).append(rating)
    turn_of = {rid: link.turn for rid, link in turns.for_responses(ids).items()} if turns and ids else {}
    cells = []
    for case in suite.cases:
        for sample in range(info.repeat):
            for model in models:
                key = (case.id or "", sample, model)
                pick = chosen.get(key)
                r = pick[1] if pick else None
                given = ratings.get(r.id, []) if r else []
                people = [x for x in given if not is_machine(x.rater)]
                auto = next((x for x in given if x.rater == AUTO_RATER), None)
                human = None
                if people:
                    values = combined_rating(people)
                    human = RatingSummary(values.get("outcome"), values.get("uncertainty"),
                                          values.get("constraints"), values.get("quality"),
                                          tuple(sorted({x.rater for x in people})),
                                          handled(case.expect, values))
                cells.append(MatrixCell(
                    case_id=case.id or "", case_key=case.key, sample=sample, model=model,
                    trial_id=trials.get((case.id or "", sample)), response_id=r.id if r else None,
                    status=r.status.value if r else None,
                    error_kind=r.error_kind.value if r and r.error_kind else None,
                    first_line=_first_line(r.text) if r else "", ttft_ms=r.ttft_ms if r else None,
                    total_ms=r.total_ms if r else None, cost_usd=r.cost_usd if r else None,
                    answers=len(by_cell.get(key, ())), human=human,
                    auto_constraints=auto.constraints if auto else None,
                    auto_note=auto.note if auto else None, turn=turn_of.get(r.id, 1) if r else 1,
                ))
    return SuiteMatrix(info, suite, tuple(models), info.repeat, tuple(cells))


def _first_line(text: str, limit: int = 200) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:limit]
    return ""


def rating_queue(suites: SuiteTables, ratings: RatingLookup, run_id: str,
                 rater: str | None = None) -> list[QueueItem]:
    """Per (case, sample) of a run, in case order: every model's answer to rate (and, with
    `rater`, which of them that rater has rated)."""
    info, suite, models, by_cell = run_parts(suites, run_id)
    trials = {(case_id, sample): trial_id for case_id, sample, trial_id in suites.run_trials(run_id)}
    items = []
    for case in suite.cases:
        for sample in range(info.repeat):
            trial_id = trials.get((case.id or "", sample))
            if trial_id is None:
                continue
            picked = [(m, _pick(by_cell.get((case.id or "", sample, m), []))) for m in models]
            present = [(m, p[1].id) for m, p in picked if p is not None]
            if not present:
                continue
            items.append(QueueItem(case, sample, trial_id, tuple(i for _, i in present),
                                   tuple(m for m, _ in present)))
    if rater:
        ids = [i for item in items for i in item.response_ids]
        rated = {r.response_id for r in ratings.current(ids, rater=rater)} if ids else set()
        items = [QueueItem(it.case, it.sample, it.trial_id, it.response_ids, it.models,
                           tuple(i for i in it.response_ids if i in rated)) for it in items]
    return items


def disagreements(suites: SuiteTables, ratings: RatingLookup, run_id: str | None = None) -> list[Disagreement]:
    """Answers where the automatic constraint verdict and a person's differ (one entry per
    person who disagrees), in the order the answers were stored."""
    autos = ratings.current(rater=AUTO_RATER)
    keys: dict[str, str] = {}
    if run_id is not None:
        _, suite, _, by_cell = run_parts(suites, run_id)
        case_keys = {c.id: c.key for c in suite.cases}
        for (case_id, _, _), found in by_cell.items():
            for _, r in found:
                keys[r.id] = case_keys.get(case_id, "")
        autos = [a for a in autos if a.response_id in keys]
    autos = [a for a in autos if a.constraints in ("followed", "violated")]
    if not autos:
        return []
    humans = [r for r in ratings.current([a.response_id for a in autos]) if not is_machine(r.rater)]
    by_response: dict[str, list[Rating]] = {}
    for h in humans:
        by_response.setdefault(h.response_id, []).append(h)
    responses = suites.answers([a.response_id for a in autos])
    out = []
    for a in autos:
        answer = responses.get(a.response_id)
        if answer is None:
            continue
        for h in by_response.get(a.response_id, []):
            if h.constraints in ("followed", "violated") and h.constraints != a.constraints:
                out.append(Disagreement(answer.id, answer.trial_id, answer.model, keys.get(answer.id, ""),
                                        a.constraints or "",
                                        h.constraints, h.rater, a.note))
    return out


def counted_answers(suites: SuiteTables, info: SuiteRunInfo) -> tuple[
        Suite, dict[tuple[str, int, str], ResponseResult], dict[str, ResponseResult]]:
    """A run's suite, the answer that counts for each (case id, sample, model) cell (the
    one its matrix shows: the latest ok), and every answer of the run by id (the earlier
    turns of a counted answer among them)."""
    suite, by_cell = run_contents(suites, info)
    picked = {key: _pick(found) for key, found in by_cell.items()}
    every = {r.id: r for found in by_cell.values() for _, r in found}
    return suite, {key: pick[1] for key, pick in picked.items() if pick is not None}, every


def run_units(suites: SuiteTables, run_id: str) -> tuple[SuiteRunInfo, Suite, list[tuple[tuple[str, int], str, str]],
                                                 dict[str, str], list[str]]:
    """For the scorecard: (unit=(case, sample), model, response id) of every answer, the
    expect kind of each response, and the run's trial ids."""
    info, suite, _, by_cell = run_parts(suites, run_id)
    expect = {c.id: c.expect for c in suite.cases}
    units = []
    expect_of = {}
    trial_ids: list[str] = []
    for (case_id, sample, model), found in by_cell.items():
        for trial_id, r in found:
            units.append(((case_id, sample), model, r.id))
            expect_of[r.id] = expect.get(case_id, "")
            trial_ids.append(trial_id)
    trial_ids = list(dict.fromkeys([t for _, _, t in suites.run_trials(run_id)] + trial_ids))
    return info, suite, units, expect_of, trial_ids
