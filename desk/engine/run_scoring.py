"""A suite run's own figures, all read from one connection's tables (the engine's own, or a
worker thread's for a big run): its scorecard by expected behaviour, one model against
another, and everything a run's scorecard view shows, read at once (RunReading).

The rules are desk.engine.scorecard's; this adds only the run's scope and its cases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

from desk.core.constraint_reading import DEFAULT_READING
from desk.core.letting_go import let_go
from desk.core.rating import RatingFigures, RatingFilter
from desk.core.suite import EXPECT_KINDS, Suite
from desk.engine.paired import PairedComparison
from desk.engine.ports.ratings import TurnLookup
from desk.engine.ports.suites import AnswerScope, RatingLookup, SuiteTables
from desk.engine.scorecard import AutoChecks, ModelScore, auto_checks, by_expect, paired_comparison
from desk.engine.suite_reading import disagreements, run_units
from desk.engine.suite_records import Disagreement, SuiteRunError, SuiteRunInfo
from desk.engine.tool_use import ToolUseScore, tool_use


class _Run(NamedTuple):
    """What run_units read of a run, once for all its figures."""

    info: SuiteRunInfo
    suite: Suite
    units: list[tuple[tuple[str, int], str, str]]  # ((case, sample), model, response id)
    expect_of: dict[str, str]
    trial_ids: list[str]


@dataclass(frozen=True)
class RunReading:
    """All a run's scorecard view shows: the run as listed, each model's scores, model A
    against model B (when asked for), the constraint disagreements and the tool use."""

    info: SuiteRunInfo
    scores: list[ModelScore]
    pair: tuple[str, str] | None  # the models asked to be compared
    comparison: PairedComparison | None
    refused: str | None  # why the pair asked for was not compared (a model not in the run…)
    disagreements: list[Disagreement]
    tool_use: list[ToolUseScore]


WholeScorecard = Callable[[RatingFilter, int, str], list[ModelScore]]  # (filters, seed, constraint reading)


class RunScoring:
    """`whole` is the store's scorecard read on the same connection as the tables."""

    def __init__(self, suites: SuiteTables, ratings: RatingLookup, answers: AnswerScope, turns: TurnLookup,
                 whole: WholeScorecard) -> None:
        self.suites, self.ratings, self.answers, self.turns = suites, ratings, answers, turns
        self.whole = whole

    def scorecard(self, run_id: str, filters: RatingFilter | None = None, *, seed: int = 0,
                  constraints: str = DEFAULT_READING) -> list[ModelScore]:
        """The scorecard of a suite run's answers, each model's with `by_expect` (see
        desk.engine.scorecard); other filters and `constraints` as in the whole scorecard."""
        run = _Run(*run_units(self.suites, run_id))
        scoped = _run_filters(filters, run.trial_ids)
        return self._scorecard(run, scoped, seed, constraints, self.ratings.figures(scoped)) if scoped else []

    def compare_models(self, run_id: str, model_a: str, model_b: str,
                       filters: RatingFilter | None = None) -> PairedComparison:
        """Model A against model B on the same cases and samples of a run: wins, losses,
        ties and the exact sign-test p-value. SuiteRunError for a model not in the run, or
        the same model twice."""
        run = _Run(*run_units(self.suites, run_id))
        scoped = _run_filters(filters, run.trial_ids)
        return self._compare(run, model_a, model_b, self.ratings.figures(scoped) if scoped else [])

    def reading(self, run_id: str, pair: tuple[str, str] | None = None) -> RunReading:
        """The run's scores, model `pair` compared (none without), its disagreements and tool
        use: the run and its ratings read once for them all."""
        run = _Run(*run_units(self.suites, run_id))
        scoped = _run_filters(None, run.trial_ids)
        # Each answer's by rater, as `rated_responses` orders them (a majority's tie goes by
        # that order): the order `figures` reads them in, so nothing is sorted here.
        ratings = self.ratings.figures(scoped) if scoped else []
        scores = self._scorecard(run, scoped, 0, DEFAULT_READING, ratings) if scoped else []
        comparison, refused = None, None
        if pair is not None:
            try:
                comparison = self._compare(run, *pair, ratings)
            except SuiteRunError as exc:
                refused = str(exc)
        read = RunReading(run.info, scores, pair, comparison, refused, disagreements(self.suites, self.ratings, run_id),
                          tool_use(self.suites, run_id))
        let_go(ratings, run.units, run.expect_of)  # not all at once on return (desk.core.letting_go)
        return read

    def _scorecard(self, run: _Run, scoped: RatingFilter, seed: int, constraints: str,
                   ratings: list[RatingFigures]) -> list[ModelScore]:
        scores = self.whole(scoped, seed, constraints)
        responses = self.answers.figures(scoped)
        kinds = [k for k in EXPECT_KINDS if any(c.expect == k for c in run.suite.cases)]
        first_of, continued = self._turns_of([r.id for r in responses])
        figures = by_expect(responses, ratings, run.expect_of, kinds, first_of, continued)
        autos = auto_checks(responses, ratings)
        checked = any(c.constraints for c in run.suite.cases)
        for s in scores:
            s.by_expect = figures.get(s.model, {})
            s.auto_checks = autos.get(s.model, AutoChecks(0, 0)) if checked else None
        let_go(responses)
        return scores

    def _compare(self, run: _Run, model_a: str, model_b: str, ratings: list[RatingFigures]) -> PairedComparison:
        for model in (model_a, model_b):
            if model not in run.info.models:
                raise SuiteRunError(f"{model} is not a model of run {run.info.run_id} ({', '.join(run.info.models)})")
        if model_a == model_b:
            raise SuiteRunError("compare two different models")
        # A case that took several turns is compared by its last answer.
        later, continued = self._turns_of([rid for _, _, rid in run.units])
        return paired_comparison([u for u in run.units if u[2] not in continued], ratings, model_a, model_b, set(later))

    def _turns_of(self, response_ids: Sequence[str]) -> tuple[dict[str, str], set[str]]:
        """(each later turn among these answers -> its conversation's first answer, the
        answers another turn continued)."""
        links = self.turns.for_responses(response_ids)
        first: dict[str, str] = {}
        for rid in links:
            root = rid
            while root in links:
                root = links[root].parent_response_id
            first[rid] = root
        return first, {link.parent_response_id for link in links.values()}


def _run_filters(filters: RatingFilter | None, trial_ids: Sequence[str]) -> RatingFilter | None:
    """`filters` narrowed to the run's trials; None when nothing is left in scope."""
    filters = filters or RatingFilter()
    ids = tuple(t for t in trial_ids if not filters.trial_ids or t in filters.trial_ids)
    return replace(filters, trial_ids=ids) if ids else None
