"""Run versus run (`desk suite compare`): gather each answer's verdicts, TTFT and served
model from two suite runs and pair them (the statistics are desk.core.run_compare's).

A run's answers are keyed by case × sample × model, a case being its key and what it asks
(prompt, system prompt, attachments, expect, constraints): two versions of a suite pair on
the cases they share unchanged, and the comparison says how many cases one version lacks or
changed. A cell's answer is the one the run's matrix shows (the latest ok).
Each verdict comes from people where they rated, else from the judges (raters "judge:..."),
else, for constraints only, from desk's automatic check (rater "auto"): no automatic check
judges success or the clarifying, refusal and fabrication rates. TTFT is the counted
answer's own; its total time and cost are its task's, summed over every turn of the case
(each turn's cost including its every attempt); a failed answer has no times.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple, cast

from desk.core.collections_paused import collections_paused
from desk.core.conversation import task_total
from desk.core.judge import is_judge
from desk.core.letting_go import let_go
from desk.core.rating import Rating, RatingCell
from desk.core.response import ResponseResult, Status
from desk.core.run_compare import ALPHA, UNCERTAINTY_RATES, AnswerFacts, RunComparison, compare_runs
from desk.core.run_conditions import conditions_note
from desk.core.suite import AUTO_RATER, Case, Suite
from desk.engine.ports.ratings import TurnLookup
from desk.engine.ports.suites import RatingLookup, SuiteTables
from desk.engine.scorecard import combined_rating
from desk.engine.suite_reading import known_run, run_suite
from desk.engine.suite_records import SuiteRunError, SuiteRunInfo
from desk.store.suites import CellFigures, counted_cells

_CONSTRAINT_VERDICTS = ("followed", "violated")


def compare_suite_runs(suites: SuiteTables, ratings: RatingLookup, run_a: str, run_b: str, *,
                       alpha: float = ALPHA, turns: TurnLookup | None = None) -> RunComparison:
    """Run A against run B, per model, figures flagged at `alpha` after Holm. Raises
    SuiteRunError for a run that is not a suite run, or two runs of different suites. (The
    collector paused: two big runs' answers are some 400,000 small objects; see collections_paused.)"""
    with collections_paused():
        info_a = known_run(suites, run_a)
        suite_a, answers_a = run_answers(suites, ratings, info_a, turns)
        info_b = known_run(suites, run_b)
        suite_b, answers_b = run_answers(suites, ratings, info_b, turns)
        if suite_a.name != suite_b.name:
            raise SuiteRunError(f"run {run_a} is of suite {suite_a.name!r} and run {run_b} of {suite_b.name!r}: "
                                "compare runs of one suite")
        result = compare_runs(run_a, run_b, {k: f for k, (_, f) in answers_a.items()},
                              {k: f for k, (_, f) in answers_b.items()}, alpha=alpha)
    notes = (version_note(suite_a, suite_b), conditions_note(info_a.conditions, info_b.conditions))
    extra = tuple(n for n in notes if n)
    return replace(result, warnings=(*extra, *result.warnings)) if extra else result


class CaseRef(NamedTuple):
    """A case as runs are paired on it: its key, and a digest of what it asks."""

    key: str
    digest: str


def case_ref(case: Case) -> CaseRef:
    asked = (case.prompt, case.system, case.expect, tuple(a.sha256 for a in case.attachments),
             repr(case.constraints))
    return CaseRef(case.key, hashlib.sha256(repr(asked).encode("utf-8")).hexdigest()[:16])


def version_note(a: Suite, b: Suite) -> str | None:
    """What differs between two versions of a suite, for the comparison's warnings."""
    if a.cases == b.cases:  # then every case asks alike: no digest needed (16,000 cases: 0.3 s)
        return None
    refs_a, refs_b = {case_ref(c) for c in a.cases}, {case_ref(c) for c in b.cases}
    if refs_a == refs_b:
        return None
    keys_a, keys_b = {r.key for r in refs_a}, {r.key for r in refs_b}
    changed = {r.key for r in refs_a - refs_b} & keys_b
    parts = [f"{len(keys_a - keys_b)} case(s) only in v{a.version}", f"{len(keys_b - keys_a)} only in v{b.version}",
             f"{len(changed)} changed"]
    return (f"the runs are of suite versions {a.version} and {b.version}: {', '.join(parts)}; "
            f"only the {len(refs_a & refs_b)} case(s) both ask alike were compared")


def run_facts(suites: SuiteTables, ratings_of: RatingLookup, info: SuiteRunInfo,
              turns: TurnLookup | None = None) -> tuple[str, dict[tuple[Hashable, str], AnswerFacts]]:
    """The run's suite name, and ((case key, sample), model) -> the facts of the answer that
    counts for that cell (the run as already listed)."""
    suite, answers = run_answers(suites, ratings_of, info, turns)
    facts = {key: facts for key, (_, facts) in answers.items()}
    let_go(answers)
    return suite.name, facts


@dataclass(frozen=True)
class EvidencePair:
    """One case × sample of a model in both runs: the two answers and the figure's value in
    each ("yes"/"no" for a rate, a number for a time or a cost)."""

    case_key: str
    sample: int
    answer_a: ResponseResult
    answer_b: ResponseResult
    value_a: bool | float | None
    value_b: bool | float | None


MAX_EVIDENCE = 50  # the largest changes of a time or cost; every flipped verdict of a rate

def _uncertainty_is(option: str) -> Callable[[AnswerFacts], bool | None]:
    return lambda f: None if f.uncertainty is None else f.uncertainty == option


_VALUES: dict[str, Callable[[AnswerFacts], bool | float | None]] = {
    "success": lambda f: f.success, "constraint_violated": lambda f: f.violated,
    **{name: _uncertainty_is(option) for name, option in UNCERTAINTY_RATES},
    "ttft_p50": lambda f: f.ttft_ms, "ttft_p95": lambda f: f.ttft_ms, "total_p95": lambda f: f.total_ms,
    "cost_per_success": lambda f: f.cost_usd,
}


def evidence(suites: SuiteTables, ratings: RatingLookup, run_a: str, run_b: str, model: str,
             figure: str, turns: TurnLookup | None = None) -> list[EvidencePair]:
    """What a figure's change rests on, for one model: for a rate, the cases whose verdict
    flipped between the runs; for a time or a cost, the pairs that changed most (largest
    |B - A| first, at most MAX_EVIDENCE)."""
    value_of = _VALUES.get(figure)
    if value_of is None:
        raise SuiteRunError(f"no figure {figure!r} (one of {', '.join(_VALUES)})")
    with collections_paused():  # as compare_suite_runs
        _, answers_a = run_answers(suites, ratings, known_run(suites, run_a), turns)
        _, answers_b = run_answers(suites, ratings, known_run(suites, run_b), turns)
    found = []  # (case key, sample, answer id in A, in B, value in A, in B)
    for key in sorted(answers_a.keys() & answers_b.keys(), key=repr):
        unit, name = key
        ref, sample = cast(tuple[CaseRef, int], unit)  # run_answers keys ((case, sample), model)
        if name != model:
            continue
        (ra, fa), (rb, fb) = answers_a[key], answers_b[key]
        va, vb = value_of(fa), value_of(fb)
        if va is None or vb is None or va == vb:
            continue
        found.append((ref.key, int(sample), ra, rb, va, vb))
    if figure not in _RATES:
        found = sorted(found, key=lambda p: -abs(float(p[5] or 0) - float(p[4] or 0)))[:MAX_EVIDENCE]
    whole = suites.answers([rid for p in found for rid in p[2:4]]) if found else {}  # only these read whole
    return [EvidencePair(case_key, sample, whole[ra], whole[rb], va, vb) for case_key, sample, ra, rb, va, vb in found]


_RATES = ("success", "constraint_violated", *(name for name, _ in UNCERTAINTY_RATES))


def run_answers(suites: SuiteTables, ratings_of: RatingLookup, info: SuiteRunInfo,
                turns: TurnLookup | None = None) -> tuple[Suite, dict[tuple[Hashable, str], tuple[str, AnswerFacts]]]:
    """The run's suite, and ((case, sample), model) -> the id of the answer that counts for
    that cell with its facts (the case as a CaseRef), the run as already read: each answer's
    figures and rating columns, not the answers whole (a text is read only where it decides
    whether an interrupted answer failed). With `turns`, a case that took several turns costs
    and lasts the sum of its turns."""
    suite = run_suite(suites, info)
    every = suites.cell_figures(info.run_id)
    answers, _ = counted_cells(every)
    key_of = {c.id: case_ref(c) for c in suite.cases}
    chosen = {((key_of[case_id], sample), model): r
              for (case_id, sample, model), r in answers.items() if case_id in key_of}
    ids = [r.response_id for r in chosen.values()]
    ratings: dict[str, list[RatingCell]] = defaultdict(list)
    for rating in ratings_of.cells(ids):
        ratings[rating.response_id].append(rating)
    stopped = [r.response_id for r in chosen.values() if r.status == Status.INTERRUPTED.value]
    failed = {rid: a.failed for rid, a in suites.answers(stopped).items()} if stopped else {}
    links = turns.for_responses([r.response_id for r in every]) if turns is not None else {}
    error = Status.ERROR.value
    times = {r.response_id: r.total_ms for r in every} if links else {}
    costs = {r.response_id: r.cost_usd for r in every} if links else {}
    facts: dict[tuple[Hashable, str], tuple[str, AnswerFacts]] = {
        key: (r.response_id, answer_facts(r, ratings.get(r.response_id, ()),
                                          task_total(r.response_id, links, times, costs) if links
                                          else _own_task(r),
                                          failed=failed.get(r.response_id, r.status == error)))
        for key, r in chosen.items()}
    let_go(every, answers, chosen, ids, ratings, times, costs)  # not at once on return (desk.core.letting_go)
    return suite, facts


def _own_task(r: CellFigures) -> tuple[float | None, float | None]:
    """task_total of an answer no turn continues nor follows: its own time and cost, as that sum of one gives them."""
    return (None if r.total_ms is None else float(r.total_ms or 0.0),
            None if r.cost_usd is None else float(r.cost_usd or 0.0))


def answer_facts(r: ResponseResult | CellFigures, ratings: Sequence[Rating | RatingCell],
                 task: tuple[float | None, float | None] | None = None, *, failed: bool | None = None) -> AnswerFacts:
    """The answer's facts, each verdict from the first source that gave one: people, else
    the judges (their majority), else, for constraints, desk's automatic check. `task` is
    the (total time, cost) of the task it ends, summed over its turns (default: its own).
    `failed`: whether it failed, as ResponseResult.failed says (needed for figures alone)."""
    if failed is None:
        failed = cast(ResponseResult, r).failed
    total_ms, cost_usd = task or (r.total_ms, r.cost_usd)
    if len(ratings) == 1 and (only := ratings[0]).rater != AUTO_RATER and not is_judge(only.rater):
        # One person's rating, most answers': its own values, as combining and `first` below
        # give them (0.6 s of a 100,000-answer run's 1.7 s read went to those).
        outcome, uncertainty, constraints = only.outcome, only.uncertainty, only.constraints
        outcome = None if outcome in (None, "") else outcome
        constraints = constraints if constraints in _CONSTRAINT_VERDICTS else None
        return AnswerFacts(
            success=None if outcome is None else outcome == "success", success_source="people",
            violated=None if constraints is None else constraints == "violated",
            violated_source=None if constraints is None else "people",
            uncertainty=None if uncertainty in (None, "") else uncertainty, uncertainty_source="people",
            ttft_ms=None if failed else r.ttft_ms, total_ms=None if failed else total_ms, cost_usd=cost_usd,
            served_model=r.served_model, system_fingerprint=r.system_fingerprint,
        )
    people: list[Rating | RatingCell] = []
    judges: list[Rating | RatingCell] = []
    auto: list[Rating | RatingCell] = []
    for x in ratings:  # one pass, and no combining for a source that gave nothing (most answers: people only)
        (auto if x.rater == AUTO_RATER else judges if is_judge(x.rater) else people).append(x)
    by_source = [(source, combined_rating(given)) for source, given in
                 (("people", people), ("judge", judges), ("auto", auto)) if given]

    def first(criterion: str, sources: tuple[str, ...]) -> tuple[str | None, str]:
        for source, values in by_source:
            value = values.get(criterion)
            if value not in (None, "") and source in sources and (criterion != "constraints"
                                                                  or value in _CONSTRAINT_VERDICTS):
                return value, source
        return None, "people"

    outcome, outcome_source = first("outcome", ("people", "judge"))
    uncertainty, uncertainty_source = first("uncertainty", ("people", "judge"))
    constraints, constraints_source = first("constraints", ("people", "judge", "auto"))
    return AnswerFacts(
        success=None if outcome is None else outcome == "success", success_source=outcome_source,
        violated=None if constraints is None else constraints == "violated",
        violated_source=None if constraints is None else constraints_source,
        uncertainty=uncertainty, uncertainty_source=uncertainty_source,
        ttft_ms=None if failed else r.ttft_ms, total_ms=None if failed else total_ms, cost_usd=cost_usd,
        served_model=r.served_model, system_fingerprint=r.system_fingerprint,
    )
