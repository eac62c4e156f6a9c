"""Run versus run (`desk suite compare`): gather each answer's verdicts, TTFT and served
model from two suite runs and pair them (the statistics are desk.core.run_compare's).

A run's answers are keyed by case key × sample × model, so two versions of a suite pair on
the cases they share. A cell's answer is the one the run's matrix shows (the latest ok).
Verdicts come from people where they rated; a constraint verdict with no person's comes
from desk's automatic check (rater "auto"). The clarifying, refusal and fabrication rates are
people's uncertainty verdicts only (no automatic check judges them). Latency is the counted
answer's own (none for a failed answer); its cost includes every attempt of it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable

from desk.core.judge import is_machine
from desk.core.rating import Rating
from desk.core.response import ResponseResult
from desk.core.run_compare import ALPHA, AnswerFacts, RunComparison, compare_runs
from desk.core.suite import AUTO_RATER
from desk.engine.ports.suites import RatingLookup, SuiteTables
from desk.engine.scorecard import combined_rating
from desk.engine.suite_reading import counted_answers
from desk.engine.suite_records import SuiteRunError

_CONSTRAINT_VERDICTS = ("followed", "violated")


def compare_suite_runs(suites: SuiteTables, ratings: RatingLookup, run_a: str, run_b: str, *,
                       alpha: float = ALPHA) -> RunComparison:
    """Run A against run B, per model, figures flagged at `alpha` after Holm. Raises
    SuiteRunError for a run that is not a suite run, or two runs of different suites."""
    name_a, facts_a = run_facts(suites, ratings, run_a)
    name_b, facts_b = run_facts(suites, ratings, run_b)
    if name_a != name_b:
        raise SuiteRunError(
            f"run {run_a} is of suite {name_a!r} and run {run_b} of {name_b!r}: compare runs of one suite")
    return compare_runs(run_a, run_b, facts_a, facts_b, alpha=alpha)


def run_facts(suites: SuiteTables, ratings_of: RatingLookup, run_id: str) -> tuple[str, dict[tuple[Hashable, str], AnswerFacts]]:
    """The run's suite name, and ((case key, sample), model) -> the facts of the answer that
    counts for that cell."""
    suite, answers = counted_answers(suites, run_id)
    key_of = {c.id: c.key for c in suite.cases}
    chosen: dict[tuple[Hashable, str], ResponseResult] = {
        ((key_of[case_id], sample), model): r
        for (case_id, sample, model), r in answers.items() if case_id in key_of
    }
    ids = [r.id for r in chosen.values()]
    ratings: dict[str, list[Rating]] = defaultdict(list)
    for rating in ratings_of.current(ids) if ids else []:
        ratings[rating.response_id].append(rating)
    return suite.name, {key: answer_facts(r, ratings.get(r.id, [])) for key, r in chosen.items()}


def answer_facts(r: ResponseResult, ratings: list[Rating]) -> AnswerFacts:
    people = combined_rating([x for x in ratings if not is_machine(x.rater)])
    auto = combined_rating([x for x in ratings if x.rater == AUTO_RATER])
    outcome = people.get("outcome")
    violated, source = None, None
    if people.get("constraints") in _CONSTRAINT_VERDICTS:
        violated, source = people["constraints"] == "violated", "people"
    elif auto.get("constraints") in _CONSTRAINT_VERDICTS:
        violated, source = auto["constraints"] == "violated", "auto"
    return AnswerFacts(
        success=None if outcome is None else outcome == "success",
        violated=violated, violated_source=source, uncertainty=people.get("uncertainty"),
        ttft_ms=None if r.failed else r.ttft_ms, total_ms=None if r.failed else r.total_ms, cost_usd=r.cost_usd,
        served_model=r.served_model, system_fingerprint=r.system_fingerprint,
    )
