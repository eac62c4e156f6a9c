"""Reading a suite run back: the answer that counts for each cell, the matrix of cases x
models, the rating queue, constraint disagreements and the units a scorecard pairs on."""

from __future__ import annotations

from collections.abc import Sequence

from desk.core.judge import is_machine
from desk.core.rating import Rating, RatingCell
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
from desk.store.suites import CellKey, cell_counts, counted_cells


def _pick(responses: list[tuple[str, ResponseResult]]) -> tuple[str, ResponseResult] | None:
    """The answer that counts for a cell: the latest ok one, else the latest."""
    ok = [p for p in responses if p[1].status == Status.OK]
    chosen = ok or responses
    return chosen[-1] if chosen else None


Cells = dict[tuple[str, int, str], list[tuple[str, ResponseResult]]]  # (case id, sample, model) -> (trial, answer)


def known_run(suites: SuiteTables, run_id: str, counts: tuple[int, int] | None = None) -> SuiteRunInfo:
    """A run as listed (its `counts` when the caller worked them out: cell_counts);
    SuiteRunError when there is none."""
    info = find_run(suites, run_id, counts)
    if info is None:
        raise SuiteRunError(f"no suite run {run_id!r}")
    return info


def run_contents(suites: SuiteTables, info: SuiteRunInfo) -> tuple[Suite, Cells]:
    """A run already read: its suite and every answer of each cell, oldest first."""
    suite = run_suite(suites, info)
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


def run_suite(suites: SuiteTables, info: SuiteRunInfo) -> Suite:
    """The suite a run is of; SuiteRunError when the store no longer holds it."""
    suite = suites.get_suite_by_id(info.suite_id)
    if suite is None:
        raise SuiteRunError(f"suite run {info.run_id}: its suite is not in this store")
    return suite


def matrix(suites: SuiteTables, ratings_of: RatingLookup, run_id: str, turns: TurnLookup | None = None) -> SuiteMatrix:
    """Cases x models (x samples) of a run: each cell's answer, timing, cost and ratings,
    and (with `turns`) its turn. Only the answers' figures and first lines are read."""
    chosen, answers = counted_cells(suites.cell_figures(run_id))
    info = known_run(suites, run_id, cell_counts(chosen))
    suite, models = run_suite(suites, info), list(info.models)
    trials = {(case_id, sample): trial_id for case_id, sample, trial_id in suites.run_trials(run_id)}
    ids = [c.response_id for c in chosen.values()]
    first_lines = suites.first_lines(ids) if ids else {}
    ratings: dict[str, list[RatingCell]] = {}
    for rating in ratings_of.cells(ids):
        ratings.setdefault(rating.response_id, []).append(rating)
    machine = {name: is_machine(name) for name in {x.rater for given in ratings.values() for x in given}}
    turn_of = {rid: link.turn for rid, link in turns.for_responses(ids).items()} if turns and ids else {}
    cells: list[MatrixCell] = []
    for case in suite.cases:
        case_id = case.id or ""
        for sample in range(info.repeat):
            trial_id = trials.get((case_id, sample))
            for model in models:
                key = (case_id, sample, model)
                r = chosen.get(key)
                if r is None:
                    cells.append(MatrixCell(case_id, case.key, sample, model, trial_id, None, None, None, "", None,
                                            None, None, answers[key], None, None, None))
                    continue
                rid = r.response_id
                human, auto = _verdicts(ratings.get(rid, ()), machine, case.expect)
                cells.append(MatrixCell(case_id, case.key, sample, model, trial_id, rid, r.status, r.error_kind or None,
                                        first_lines.get(rid, ""), r.ttft_ms, r.total_ms, r.cost_usd, answers[key], human,
                                        auto.constraints if auto else None, auto.note if auto else None,
                                        turn_of.get(rid, 1)))
    return SuiteMatrix(info, suite, tuple(models), info.repeat, tuple(cells))


def _verdicts(given: Sequence[RatingCell], machine: dict[str, bool],
              expect: str) -> tuple[RatingSummary | None, RatingCell | None]:
    """An answer's people's ratings combined, and the automatic check's rating, if any."""
    if not given:
        return None, None
    people = [x for x in given if not machine[x.rater]]
    auto = next((x for x in given if x.rater == AUTO_RATER), None)
    if not people:
        return None, auto
    values = combined_rating(people)
    return RatingSummary(values.get("outcome"), values.get("uncertainty"), values.get("constraints"),
                         values.get("quality"), tuple(sorted({x.rater for x in people})),
                         handled(expect, values)), auto


def rating_queue(suites: SuiteTables, ratings: RatingLookup, run_id: str,
                 rater: str | None = None) -> list[QueueItem]:
    """Per (case, sample) of a run, in case order: every model's answer to rate (and, with
    `rater`, which of them that rater has rated). Only the answers' ids and statuses are read."""
    counted, _ = counted_cells(suites.cell_statuses(run_id))
    info = known_run(suites, run_id, cell_counts(counted))
    suite, models = run_suite(suites, info), list(info.models)
    trials = {(case_id, sample): trial_id for case_id, sample, trial_id in suites.run_trials(run_id)}
    chosen = {key: cell[4] for key, cell in counted.items()}  # the response ids
    rated = ratings.rated_by(rater, list(chosen.values())) if rater and chosen else set()
    items = []
    for case in suite.cases:
        for sample in range(info.repeat):
            trial_id = trials.get((case.id or "", sample))
            if trial_id is None:
                continue
            present = [(m, rid) for m in models if (rid := chosen.get((case.id or "", sample, m))) is not None]
            if not present:
                continue
            ids = tuple(i for _, i in present)
            items.append(QueueItem(case, sample, trial_id, ids, tuple(m for m, _ in present),
                                   tuple(i for i in ids if i in rated)))
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


def run_units(suites: SuiteTables, run_id: str) -> tuple[SuiteRunInfo, Suite, list[tuple[tuple[str, int], str, str]],
                                                 dict[str, str], list[str]]:
    """For the scorecard: (unit=(case, sample), model, response id) of every answer, the
    expect kind of each response, and the run's trial ids."""
    cells = suites.cell_figures(run_id)
    info = known_run(suites, run_id, cell_counts(counted_cells(cells)[0]))
    suite = run_suite(suites, info)
    expect = {c.id: c.expect for c in suite.cases}
    by_cell: dict[CellKey, list[str]] = {}
    for cell in cells:  # ids only: no text nor attempt is read
        by_cell.setdefault((cell.case_id, cell.sample, cell.model), []).append(cell.response_id)
    units = []
    expect_of = {}
    for (case_id, sample, model), found in by_cell.items():
        for response_id in found:
            units.append(((case_id, sample), model, response_id))
            expect_of[response_id] = expect.get(case_id, "")
    # Every answer's trial is one of the run's (its cells are joined on them).
    trial_ids = list(dict.fromkeys(t for _, _, t in suites.run_trials(run_id)))
    return info, suite, units, expect_of, trial_ids
