"""Reading a suite run back: the answer that counts for each cell, the matrix of cases x
models, the rating queue, constraint disagreements and the units a scorecard pairs on."""

from __future__ import annotations

from collections.abc import Sequence

from desk.core.judge import is_machine
from desk.core.letting_go import let_go
from desk.core.rating import Rating, RatingCell
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


def known_run(suites: SuiteTables, run_id: str, counts: tuple[int, int] | None = None) -> SuiteRunInfo:
    """A run as listed (its `counts` when the caller worked them out: cell_counts);
    SuiteRunError when there is none."""
    info = find_run(suites, run_id, counts)
    if info is None:
        raise SuiteRunError(f"no suite run {run_id!r}")
    return info


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
    person who disagrees), in the order of the automatic verdicts (oldest first). A run's
    are found from its cells' ids and its answers' rating columns: no answer is read whole."""
    if run_id is None:
        return _store_disagreements(suites, ratings)
    cells = suites.cell_statuses(run_id)
    info = known_run(suites, run_id, cell_counts(counted_cells(cells)[0]))
    case_keys = {c.id: c.key for c in run_suite(suites, info).cases}
    # The answers the automatic check rated, then their ratings (not every answer's).
    checked = ratings.rated_by(AUTO_RATER, [cell[4] for cell in cells]) if cells else set()
    if not checked:
        return []
    trials = {(case_id, sample): trial_id for case_id, sample, trial_id in suites.run_trials(run_id)}
    places = {rid: (trials.get((case_id, sample), ""), model, case_keys.get(case_id, ""))
              for case_id, sample, model, _, rid in cells if rid in checked}
    given = ratings.cells(list(places))
    return _disagreeing([x for x in given if x.rater == AUTO_RATER], given, places)


def _store_disagreements(suites: SuiteTables, ratings: RatingLookup) -> list[Disagreement]:
    """disagreements over the whole store (no run): every automatic verdict's answer, no
    case; of the answers only their trial and model are read."""
    autos = [a for a in ratings.current(rater=AUTO_RATER) if a.constraints in _VERDICTS]
    if not autos:
        return []
    places = {rid: (trial_id, model, "")
              for rid, (trial_id, model) in suites.trials_and_models([a.response_id for a in autos]).items()}
    return _disagreeing(autos, ratings.cells(list(places)), places)


_VERDICTS = ("followed", "violated")
_Verdict = Rating | RatingCell


def _disagreeing(autos: Sequence[_Verdict], given: Sequence[_Verdict],
                 places: dict[str, tuple[str, str, str]]) -> list[Disagreement]:
    """Each automatic verdict (in order) against each person's (`given`, in order) of its
    answer, where both judged the constraints and differ; `places`: the answers' (trial,
    model, case key), an answer absent from it is left out."""
    people: dict[str, list[_Verdict]] = {}
    for h in given:
        if not is_machine(h.rater) and h.constraints in _VERDICTS:
            people.setdefault(h.response_id, []).append(h)
    out: list[Disagreement] = []
    for a in autos:
        place = places.get(a.response_id)
        if place is None or a.constraints not in _VERDICTS:
            continue
        out.extend(Disagreement(a.response_id, *place, a.constraints or "", h.constraints or "", h.rater, a.note)
                   for h in people.get(a.response_id, ()) if h.constraints != a.constraints)
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
    let_go(cells, by_cell)  # not all at once on return (desk.core.letting_go)
    return info, suite, units, expect_of, trial_ids
