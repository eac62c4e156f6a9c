"""Reading a suite run back: the answer that counts for each cell, the matrix of cases x
models, the rating queue, constraint disagreements and the units a scorecard pairs on."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain, compress, groupby, product, repeat
from operator import itemgetter
from typing import Any, cast

from desk.core.gil_slices import counted, listed, mapped, zipped_dict
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
from desk.store.suites import CellFigures, CellKey, cell_counts, counted_cells


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
    and (with `turns`) its turn. Only the answers' figures and first lines are read.
    (A run of 100,000 answers makes as many cells: each of their fields is a column made
    by C loops, in the matrix's order, and the cells are zipped from them, all a slice at a
    time: desk.core.gil_slices.)"""
    figures, first_lines = suites.cell_lines(run_id)
    chosen, answers = counted_cells(figures)
    info = known_run(suites, run_id, cell_counts(chosen))
    suite, models = run_suite(suites, info), tuple(info.models)
    ran = suites.run_trials(run_id)
    trials = dict(zip(map(_CASE_SAMPLE, ran), map(_TRIAL, ran), strict=True))
    ids = mapped(_RESPONSE_ID, chosen.values())
    turn_of = {rid: link.turn for rid, link in turns.for_responses(ids).items()} if turns and ids else {}
    case_ids, per_case = [case.id or "" for case in suite.cases], info.repeat * len(models)
    keys = listed(product(case_ids, range(info.repeat), models))  # (case id, sample, model), cell by cell
    found = cast("list[CellFigures]", mapped(chosen.get, keys, repeat(_NOT_SENT)))
    rids = mapped(_RESPONSE_ID, found)
    expects = listed(chain.from_iterable(map(repeat, [case.expect for case in suite.cases], repeat(per_case))))
    given = ratings_of.cells(ids)
    human, auto_constraints, auto_note = _verdicts(given, rids, expects)
    cells = zip(
        map(_CASE_ID, keys), chain.from_iterable(map(repeat, [case.key for case in suite.cases], repeat(per_case))),
        map(_SAMPLE, keys), map(_MODEL, keys),
        chain.from_iterable(map(repeat, map(trials.get, product(case_ids, range(info.repeat))), repeat(len(models)))),
        rids, map(_STATUS, found), [kind or None for kind in map(_ERROR_KIND, found)],
        map(first_lines.get, rids, repeat("")), map(_TTFT, found), map(_TOTAL, found), map(_COST, found),
        map(answers.__getitem__, keys), human, auto_constraints, auto_note, map(turn_of.get, rids, repeat(1)),
        strict=True)
    made = tuple(mapped(tuple.__new__, repeat(MatrixCell), cells))
    let_go(figures, first_lines, chosen, answers, trials, ids, given, keys, found, rids, expects,
           human, auto_constraints, auto_note)  # not all at once on return (desk.core.letting_go)
    return SuiteMatrix(info, suite, models, info.repeat, made)


_NOT_SENT = CellFigures._make((None,) * len(CellFigures._fields))  # a cell with no answer yet: none of its figures
_CASE_ID, _SAMPLE, _MODEL, _STATUS, _RESPONSE_ID, _ERROR_KIND, _TTFT, _TOTAL, _COST = map(itemgetter, range(9))
_CASE_SAMPLE, _TRIAL = itemgetter(0, 1), itemgetter(2)  # of run_trials' rows
_CellVerdict = tuple[RatingSummary | None, str | None, str | None]


def _verdicts(given: Sequence[RatingCell], rids: Sequence[str | None],
              expects: Sequence[str]) -> tuple[list[RatingSummary | None], list[str | None], list[str | None]]:
    """Each answer's `_verdict` (of `rids`, each one's case expecting `expects`) from its
    ratings among `given` (in order), as columns, by C loops: most answers have one rating,
    whose verdict is made once per rater, values and expect kind (_ByValues); an answer
    rated several times is combined on its own."""
    rated = mapped(_RATED, given)
    alone = zipped_dict(rated, given)  # an answer's latest rating: its only one, for most
    ratings = cast("list[RatingCell]", mapped(alone.get, rids, repeat(_UNRATED)))
    out = mapped(_ByValues().__getitem__,
                 zip(map(_VALUES, ratings), map(type, map(_QUALITY, ratings)), expects, strict=True))
    several: dict[str, list[RatingCell]] = {}
    if len(alone) < len(rated):  # some answer was rated more than once
        counts = counted(rated)
        several = {rid: [] for rid in compress(counts, map((1).__lt__, counts.values()))}
        at = zipped_dict(rids, range(len(rids)))
        for x in compress(given, map(several.__contains__, rated)):
            several[x.response_id].append(x)
        for rid, found in several.items():
            out[at[rid]] = _verdict(found, expects[at[rid]])
    let_go(rated, alone, ratings)
    return mapped(_HUMAN, out), mapped(_AUTO_CONSTRAINTS, out), mapped(_AUTO_NOTE, out)


class _ByValues(dict[tuple[Any, ...], "_CellVerdict"]):
    """The `_verdict` of one rating (or of none) by (its rater, criteria, quality and note,
    the quality's type, the expect kind): made from these alone, once each (which answer
    it rates and when it was made do not change it)."""

    def __missing__(self, key: tuple[Any, ...]) -> _CellVerdict:
        (rater, outcome, uncertainty, constraints, quality, note), _, expect = key
        given = () if rater is _NO_ONE else (RatingCell("", rater, 0.0, outcome, uncertainty, constraints, quality, note),)
        made = self[key] = _verdict(given, expect)
        return made


_RATED, _QUALITY = itemgetter(0), itemgetter(6)
_VALUES = itemgetter(1, 3, 4, 5, 6, 7)  # a RatingCell but its answer and time: rater, criteria, quality, note
_HUMAN, _AUTO_CONSTRAINTS, _AUTO_NOTE = itemgetter(0), itemgetter(1), itemgetter(2)
_NO_ONE: Any = object()  # the rater of no rating: no rater's name
_UNRATED = RatingCell("", _NO_ONE, 0.0, None, None, None, None, "")  # an answer's rating when it has none


def _verdict(given: Sequence[RatingCell], expect: str) -> _CellVerdict:
    """An answer's people's ratings combined (and whether they show what its case
    expects), and the automatic check's constraint verdict and note, if any."""
    people = [x for x in given if not is_machine(x.rater)]
    auto = next((x for x in given if x.rater == AUTO_RATER), None)
    human = None
    if people:
        values = combined_rating(people)
        human = RatingSummary(values.get("outcome"), values.get("uncertainty"), values.get("constraints"),
                              values.get("quality"), tuple(sorted({x.rater for x in people})), handled(expect, values))
    return human, auto.constraints if auto else None, auto.note if auto else None


def rating_queue(suites: SuiteTables, run_id: str, rater: str | None = None) -> list[QueueItem]:
    """Per (case, sample) of a run, in case order: every model's answer to rate (and, with
    `rater`, which of them that rater has rated). Only the answers' ids and statuses are read
    (and whether `rater` rated each, with them)."""
    counted, _ = counted_cells(suites.rater_cells(run_id, rater) if rater else suites.cell_statuses(run_id))
    info = known_run(suites, run_id, cell_counts(counted))
    suite, models = run_suite(suites, info), list(info.models)
    trials = {(case_id, sample): trial_id for case_id, sample, trial_id in suites.run_trials(run_id)}
    # The counted cells come by (case, sample, model): each place's answers together, its
    # models in name order. Grouped once here; no lookup per (case, sample, model).
    rank = dict(zip(models, range(len(models)), strict=True))
    in_order = sorted(models) == models
    places: dict[tuple[str, int], list[tuple[Any, ...]]] = {}
    for place, group in groupby(counted.values(), _PLACE):
        here = [cell for cell in group if cell[2] in rank]
        if here:
            places[place] = here if in_order else sorted(here, key=lambda cell: rank[cell[2]])
    items = []
    for case in suite.cases:
        case_id = case.id or ""
        for sample in range(info.repeat):
            answers = places.get((case_id, sample))
            trial_id = trials.get((case_id, sample))
            if answers is None or trial_id is None:
                continue
            ids = tuple(map(_RESPONSE_ID, answers))
            done = tuple(compress(ids, map(_RATED_BY_RATER, answers))) if rater else ()
            items.append(QueueItem(case, sample, trial_id, ids, tuple(map(_MODEL, answers)), done))
    return items


_PLACE, _RATED_BY_RATER = itemgetter(0, 1), itemgetter(5)  # of rater_cells' rows: (case, sample), rated


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
