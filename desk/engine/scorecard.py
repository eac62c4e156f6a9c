"""Per-model scorecard from stored ratings, answers and attempts, with honest intervals.

Units and rules, stated once:
- A *rated answer* is a response with at least one current rating in scope. When several
  raters rated it, each criterion takes the majority value (a tie goes to the most recent
  rating); quality is the mean of their scores. With one rater this is just that rating.
  A failed answer (ResponseResult.failed) counts by its outcome alone: its other criteria
  (mean quality, uncertainty, constraints) are left out.
- Rates are shares of rated answers; the constraint violation rate counts only answers
  where constraints applied (followed or violated).
- Latency uses every answer of the model in scope that finished ok, rated or not.
- Cost per successful task is all money spent on the model's attempts in scope
  (failures, retries and every turn of a conversation included) divided by the answers
  rated a success, a conversation's earlier turns left out of that count (a task succeeds
  by its last answer); answers whose
  cost is unknown are left out of the sum and counted in `cost_unknown`. Its 95% interval
  is a percentile bootstrap over those answers (each answer's cost and success resampled
  together); a resample with no success counts as an infinite cost, so with few successes
  the upper bound is honestly unbounded (math.inf; null in JSON).
- Pairwise: "both bad" counts as a tie. The win rate is (wins + ties / 2) / games, with a
  95% Wilson interval on that count (a tie's half-win varies less than a win or loss, so
  the interval errs wide; games are taken as independent). Bradley–Terry strengths are
  normalised to a geometric mean of 1 across models, with percentile-bootstrap intervals
  over the comparisons.
- By behaviour (suite runs): per model and `expect` kind, the share of rated answers that
  showed the expected behaviour (desk.core.suite.HANDLED: clarify -> asked_clarifying,
  abstain -> stated_uncertainty, answer -> confident_correct or partial_with_caveats,
  follow_constraints -> constraints followed), with n and a 95% Wilson interval. Only
  human ratings count: the automatic checker's (rater "auto") are left out.
- Paired comparison of two models on a suite run: each (case, sample) both models have a
  rated answer to is one pair. A wins when its outcome ranks higher (success > partial >
  failure); with equal outcomes, when its quality is higher; otherwise (or when either
  is not judged) the pair is a tie. The p-value is the exact two-sided sign test on wins
  against losses, ties left out.
Any figure from fewer than `MIN_SAMPLES` observations carries a warning.
"""

from __future__ import annotations

import math
import operator
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from itertools import compress, repeat
from typing import TYPE_CHECKING, Any, TypeVar, cast

from desk.core.constraint_reading import rating_figures
from desk.core.rating import Preference, PreferenceFigures, Rating, RatingCell, RatingFigures
from desk.core.response import ResponseFigures, ResponseResult, Status
from desk.core.statistics import (
    MIN_SAMPLES,
    bootstrap_percentile_intervals,
    bootstrap_ratio_intervals,
    bradley_terry,
    bradley_terry_bootstrap,
    cohen_kappa,
    enough,
    exact_mean,
    krippendorff_alpha,
    krippendorff_alpha_ordered,
    percentile,
    sign_test,
    wilson_interval,
    win_rate_interval,
)
from desk.core.suite import AUTO_RATER, EXPECT_KINDS, handled
from desk.engine.paired import PairedComparison
from desk.engine.scorecard_columns import (
    CONSTRAINTS,
    OUTCOME,
    QUALITY,
    UNCERTAINTY,
    ModelAnswers,
    RatedAnswers,
    ascending,
    by_model,
    majority,
    mean_quality,
    present,
)

if TYPE_CHECKING:
    import numpy as np


@dataclass
class ModelScore:
    model: str
    n_rated: int = 0
    n_answers: int = 0
    n_errors: int = 0  # answers that failed (an error, a 429 after its retries, a timeout)
    success_rate: float | None = None
    success_ci: tuple[float, float] | None = None
    clarifying_rate: float | None = None
    fabrication_rate: float | None = None
    constraint_violation_rate: float | None = None
    n_constraints: int = 0
    mean_quality: float | None = None
    median_total_ms: float | None = None
    median_total_ci: tuple[float, float] | None = None
    p95_total_ms: float | None = None
    p95_total_ci: tuple[float, float] | None = None
    mean_cost_usd: float | None = None
    total_cost_usd: float | None = None
    cost_unknown: int = 0
    successes: int = 0
    cost_per_success_usd: float | None = None
    cost_per_success_ci: tuple[float, float] | None = None  # upper bound may be math.inf
    pairwise_games: int = 0
    pairwise_win_rate: float | None = None
    pairwise_win_ci: tuple[float, float] | None = None
    bt_score: float | None = None
    bt_ci: tuple[float, float] | None = None
    agreement: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    by_expect: dict[str, ExpectScore] | None = None  # set for a suite run's scorecard
    constraint_reading: str | None = None  # "official"/"desk" when automatic constraint checks count
    auto_checks: AutoChecks | None = None  # set for a suite run's scorecard

    def as_json(self) -> dict[str, Any]:
        out = {
            "model": self.model,
            "n_rated": self.n_rated,
            "n_answers": self.n_answers,
            "n_errors": self.n_errors,
            "success_rate": self.success_rate,
            "success_ci": list(self.success_ci) if self.success_ci else None,
            "clarifying_rate": self.clarifying_rate,
            "fabrication_rate": self.fabrication_rate,
            "constraint_violation_rate": self.constraint_violation_rate,
            "n_constraints_applicable": self.n_constraints,
            "constraint_reading": self.constraint_reading,
            "mean_quality": self.mean_quality,
            "median_total_ms": self.median_total_ms,
            "median_total_ci": list(self.median_total_ci) if self.median_total_ci else None,
            "p95_total_ms": self.p95_total_ms,
            "p95_total_ci": list(self.p95_total_ci) if self.p95_total_ci else None,
            "mean_cost_usd": self.mean_cost_usd,
            "total_cost_usd": self.total_cost_usd,
            "cost_unknown": self.cost_unknown,
            "successes": self.successes,
            "cost_per_success_usd": self.cost_per_success_usd,
            "cost_per_success_ci": _json_interval(self.cost_per_success_ci),
            "pairwise_games": self.pairwise_games,
            "pairwise_win_rate": self.pairwise_win_rate,
            "pairwise_win_ci": list(self.pairwise_win_ci) if self.pairwise_win_ci else None,
            "bt_score": self.bt_score,
            "bt_ci": list(self.bt_ci) if self.bt_ci else None,
            "agreement": self.agreement,
            "warnings": self.warnings,
        }
        if self.by_expect is not None:
            out["by_expect"] = {kind: score.as_json() for kind, score in self.by_expect.items()}
        if self.auto_checks is not None:
            out["auto_checks"] = {"checked": self.auto_checks.checked, "violated": self.auto_checks.violated}
        return out


@dataclass(frozen=True)
class AutoChecks:
    """desk's own constraint verdicts (rater "auto") on a model's answers: known before
    anyone rates."""

    checked: int
    violated: int


def auto_checks(responses: Sequence[Answer], ratings: Sequence[Rated]) -> dict[str, AutoChecks]:
    """Per model, how many of its answers the automatic check judged, and found violating."""
    model_of = {r.id: r.model for r in responses}
    verdicts: dict[str, list[str]] = defaultdict(list)
    for rating in ratings:
        if rating.rater == AUTO_RATER and rating.response_id in model_of and rating.constraints:
            verdicts[model_of[rating.response_id]].append(rating.constraints)
    return {model: AutoChecks(len(v), sum(c == "violated" for c in v)) for model, v in verdicts.items()}


@dataclass(frozen=True)
class ExpectScore:
    """How often a model's rated answers to the cases of one `expect` kind showed the
    expected behaviour."""

    n_rated: int
    handled: int
    handled_rate: float | None
    handled_ci: tuple[float, float] | None
    extra_turn: int = 0  # of the rated, those whose case needed another turn (a clarification)

    def as_json(self) -> dict[str, Any]:
        return {"n_rated": self.n_rated, "handled": self.handled, "handled_rate": self.handled_rate,
                "handled_ci": list(self.handled_ci) if self.handled_ci else None, "extra_turn": self.extra_turn}


Progress = Callable[[int, int | None, str | None], None]  # (done, total, detail), like Job.report


def _json_interval(ci: tuple[float, float] | None) -> list[float | None] | None:
    """JSON has no infinity: an unbounded end is written as null."""
    if ci is None:
        return None
    return [None if math.isinf(v) else v for v in ci]


def _share(hits: float, n: int) -> float | None:
    return hits / n if n else None


Answer = ResponseResult | ResponseFigures
Rated = Rating | RatingFigures | RatingCell  # a rating with its values under Rating's names
R = TypeVar("R", bound=Rated)


def compute_scorecard(
    responses: Sequence[Answer],
    ratings: Sequence[Rating | RatingFigures],
    preferences: Sequence[Preference | PreferenceFigures] = (),
    *,
    seed: int = 0,
    n_resamples: int = 2000,
    progress: Progress | None = None,
    continued: Set[str] = frozenset(),
) -> list[ModelScore]:
    """One ModelScore per model, ordered by model name. `progress` hears (step, steps, what)
    before each step (the bootstraps take seconds on a real store) and may raise to stop.
    `continued` names the answers a later turn continued: their cost counts toward their
    task's, their success does not (a task succeeds by its last answer)."""
    report = progress or (lambda done, total, detail: None)
    if set(map(type, responses)) - {ResponseFigures}:
        responses = list(map(_answer_figures, responses))
    if set(map(type, ratings)) - {RatingFigures}:
        ratings = [r if isinstance(r, RatingFigures) else rating_figures(r) for r in ratings]
    answers = by_model(responses)  # type: ignore[arg-type]  # ResponseFigures, as made sure above
    model_of: dict[str, str] = {}  # from each model's column of ids: no attribute read per answer
    for model, columns in answers.items():
        model_of.update(zip(columns.ids, repeat(model)))
    # Only answers in scope are looked up: a rating of another is never read (cheaper than asking).
    rated = RatedAnswers(ratings, model_of)  # type: ignore[arg-type]  # RatingFigures, as made sure above

    models = list(answers)
    steps = len(models) + 1
    report(0, steps, "pairwise strengths")
    pairwise = _Pairwise(_comparisons(preferences, model_of), seed, n_resamples,
                         lambda: report(0, steps, "pairwise strengths"))
    scores, costs = [], []
    for step, model in enumerate(models, start=1):
        report(step, steps, model)
        s, cost = _model_score(model, answers[model], rated, pairwise, seed, n_resamples, continued)
        scores.append(s)
        costs.append(cost)
    # Each model's cost per success interval; models with as many answers share their draws.
    wanted = [(s, cost) for s, cost in zip(scores, costs, strict=True) if cost is not None]
    data = cast("list[tuple[Sequence[float], Sequence[float]]]", [cost for _, cost in wanted])  # numpy arrays
    intervals = bootstrap_ratio_intervals(data, seed=seed, n_resamples=n_resamples)
    for (s, _), interval in zip(wanted, intervals, strict=True):
        s.cost_per_success_ci = interval
    return scores


def _answer_figures(r: Answer) -> ResponseFigures:
    if isinstance(r, ResponseFigures):
        return r
    return ResponseFigures(r.id, r.trial_id, r.model, r.status, r.total_ms, r.cost_usd, r.failed)


class _Pairwise:
    """The preferences' figures (games, win rate, Bradley–Terry strength) for each model."""

    def __init__(self, comparisons: list[tuple[str, str, float]], seed: int, n_resamples: int,
                 tick: Callable[[], None]) -> None:
        self.strengths = bradley_terry(comparisons) if comparisons else {}
        self.strength_ci = (
            bradley_terry_bootstrap(comparisons, n_resamples=min(n_resamples, 1000), seed=seed,
                                    # every 50 refits: a chance to cancel inside the longest step
                                    each=lambda i: tick() if i % 50 == 0 else None)
            if comparisons else {}
        )
        self.games: Counter[str] = Counter()
        self.points: defaultdict[str, float] = defaultdict(float)
        for a, b, score in comparisons:
            self.games[a] += 1
            self.games[b] += 1
            self.points[a] += score
            self.points[b] += 1 - score

    def score(self, s: ModelScore) -> None:
        model = s.model
        s.pairwise_games = self.games[model]
        s.pairwise_win_rate = _share(self.points[model], self.games[model])
        s.pairwise_win_ci = win_rate_interval(self.points[model], self.games[model])
        s.bt_score = self.strengths.get(model)
        s.bt_ci = self.strength_ci.get(model)


def _model_score(model: str, answers: ModelAnswers, rated: RatedAnswers, pairwise: _Pairwise, seed: int,
                 n_resamples: int, continued: Set[str] = frozenset()
                 ) -> tuple[ModelScore, tuple[np.ndarray, np.ndarray] | None]:
    """A model's figures but its cost interval, and what that interval resamples (each
    answer's cost and whether it succeeded) when it has one. The answers are taken a column
    at a time, each by C loops (desk.engine.scorecard_columns). An answer in `continued` (a
    later turn went on from it) costs but never succeeds: its task succeeds by its last answer."""
    ids, statuses, totals_ms, costs, failed = (answers.ids, answers.statuses, answers.totals_ms, answers.costs,
                                               answers.failed)
    s = ModelScore(model=model, n_answers=len(ids), n_errors=statuses.count(Status.ERROR))
    values = list(map(rated.row.get, ids))  # None: not rated
    is_rated = list(map(operator.is_not, values, repeat(None)))
    combined = cast("list[tuple[Any, ...]]", list(compress(values, is_rated)))
    s.n_rated = len(combined)
    outcome = list(map(OUTCOME, combined))
    # A failed answer is judged by its outcome alone: whatever else an older rating
    # holds for it (a made-up quality) is no judgement of an answer.
    judged = list(compress(combined, map(operator.not_, compress(failed, is_rated))))
    uncertainty = list(map(UNCERTAINTY, judged))
    constraints = list(map(CONSTRAINTS, judged))
    qualities = present(map(QUALITY, judged))
    s.successes = outcome.count("success")
    s.success_rate = _share(s.successes, s.n_rated)
    s.success_ci = wilson_interval(s.successes, s.n_rated)
    s.clarifying_rate = _share(uncertainty.count("asked_clarifying"), s.n_rated)
    s.fabrication_rate = _share(uncertainty.count("confident_wrong"), s.n_rated)
    violated = constraints.count("violated")
    s.n_constraints = constraints.count("followed") + violated
    s.constraint_violation_rate = _share(violated, s.n_constraints)
    s.mean_quality = exact_mean(qualities) if qualities else None

    finished = map(operator.and_, map(operator.eq, statuses, repeat(Status.OK)),
                   map(operator.is_not, totals_ms, repeat(None)))
    totals = ascending(list(compress(totals_ms, finished)))  # None left out  # sorted once: each percentile below sorts it again, in O(n)
    s.median_total_ms = percentile(totals, 50)
    s.p95_total_ms = percentile(totals, 95)
    latency_ci = bootstrap_percentile_intervals(totals, (50, 95), seed=seed, n_resamples=n_resamples)
    if latency_ci is not None:  # the median and p95 of the same resamples
        s.median_total_ci, s.p95_total_ci = latency_ci[50], latency_ci[95]

    known = present(costs)
    s.cost_unknown = len(ids) - len(known)
    s.total_cost_usd = round(sum(known), 10) if known else None
    s.mean_cost_usd = round(exact_mean(known), 10) if known else None
    cost = None
    if s.successes and s.total_cost_usd is not None:
        # Resample the model's answers, each with its cost (unknown: left out, as above)
        # and whether it was rated a success; unrated answers cost money, succeed never.
        cost = _cost_data(ids, costs, is_rated, outcome, continued)
        tasks = s.successes if not continued else int(cost[1].sum())
        if tasks:
            s.cost_per_success_usd = round(s.total_cost_usd / tasks, 10)
        else:
            cost = None
    pairwise.score(s)
    # The answers several raters rated are the rated ones whose row is a combination (no
    # response id of its own, see RatedAnswers): a tenth are looked up, in their order.
    combos = map(operator.is_, map(operator.itemgetter(0), combined), repeat(None))
    several = list(map(rated.several.__getitem__, compress(compress(ids, is_rated), combos)))
    s.agreement = _agreement(rated.raters(model, several), several)
    if not enough(s.n_rated):
        s.warnings.append(f"too few rated answers (n={s.n_rated}, want {MIN_SAMPLES}+)")
    if not enough(len(totals)):
        s.warnings.append(f"too few finished answers for latency (n={len(totals)})")
    if s.pairwise_games and not enough(s.pairwise_games):
        s.warnings.append(f"too few pairwise comparisons (n={s.pairwise_games})")
    if s.cost_unknown:
        s.warnings.append(f"{s.cost_unknown} answer(s) with unknown cost left out of the cost figures")
    return s, cost


def _cost_data(ids: list[str], costs: list[float | None], is_rated: list[bool], outcome: list[Any],
               continued: Set[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each answer's cost (unknown: 0.0) and 1.0 when it was rated a success and no later
    turn continued it, else 0.0: the floats `c or 0.0` and `float(...)` gave."""
    import numpy as np  # on first use: see desk.core.statistics
    spent = np.array([0.0 if c is None else c for c in costs], dtype=float)
    spent[spent == 0] = 0.0  # -0.0 too, as `c or 0.0`
    wins = np.zeros(len(ids))
    wins[np.flatnonzero(is_rated)] = np.array(outcome, dtype=object) == "success"
    if continued:
        wins[np.fromiter(map(continued.__contains__, ids), dtype=bool, count=len(ids))] = 0.0
    return spent, wins


def _comparisons(preferences: Sequence[Preference | PreferenceFigures],
                 model_of: Mapping[str, str]) -> list[tuple[str, str, float]]:
    out = []
    for p in preferences:
        a, b = model_of.get(p.response_a), model_of.get(p.response_b)
        if a is None or b is None or a == b:
            continue
        score = {"a": 1.0, "b": 0.0}.get(p.winner, 0.5)  # tie and both_bad: neither better
        out.append((a, b, score))
    return out


def _agreement(raters: list[str], several: Sequence[Sequence[RatingFigures]]) -> dict[str, Any]:
    """Inter-rater agreement on the answers two or more raters rated: `raters` are (sorted)
    all who rated the model's answers, `several` the ratings of each answer rated twice or more."""
    # Each answer several raters rated, as rater -> their (first) rating of it.
    shared = [by for by in ({x.rater: x for x in reversed(rs)} for rs in several) if len(by) >= 2]
    if len(raters) < 2 or not shared:
        return {}
    result: dict[str, Any] = {"raters": len(raters), "n_items": len(shared)}
    for criterion in ("outcome", "uncertainty"):
        value = operator.attrgetter(criterion)
        if len(raters) == 2:
            both = [by for by in shared if raters[0] in by and raters[1] in by]
            a = [value(by[raters[0]]) for by in both]
            b = [value(by[raters[1]]) for by in both]
            result[criterion] = {"cohen_kappa": cohen_kappa(a, b)}
        else:
            units = [[value(by[who]) if who in by else None for who in raters] for by in shared]
            result[criterion] = {"krippendorff_alpha": krippendorff_alpha(units)}
    # The 1–5 quality score is ordered: a 4 against a 5 is a smaller disagreement than a 1
    # against a 5, which nominal kappa/alpha cannot see. Any number of raters (two included).
    scores = [[by[who].quality if who in by else None for who in raters] for by in shared]
    if any(v is not None for unit in scores for v in unit):
        result["quality"] = {
            f"krippendorff_alpha_{level}": krippendorff_alpha_ordered(scores, level)
            for level in ("ordinal", "interval")
        }
    if not enough(len(shared)):
        result["warning"] = f"too few items rated by several raters (n={len(shared)})"
    return result


_OUTCOME_RANK = {"failure": 0, "partial": 1, "success": 2}


def human_ratings(ratings: Sequence[R]) -> list[R]:
    """The ratings made by people (the automatic checker's left out)."""
    return [r for r in ratings if r.rater != AUTO_RATER]


_CHOICES = ("outcome", "uncertainty", "constraints")


def combined_rating(ratings: Sequence[Rated]) -> dict[str, Any]:
    """One answer's ratings as one set of values: each choice criterion by majority (a tie
    goes to the most recent rating), quality as the mean; criteria nobody judged are left out."""
    if len(ratings) == 1:  # one rater, the usual case: the majority and the mean of one are its own
        (only,) = ratings
        out = {key: value for key in _CHOICES if (value := getattr(only, key)) not in (None, "")}
        if only.quality is not None:
            out["quality"] = only.quality
        return out
    out = {}
    for key in _CHOICES:
        judged = [(r.created_at, value) for r in ratings if (value := getattr(r, key)) not in (None, "")]
        if judged:
            out[key] = majority(judged)
    if any(r.quality is not None for r in ratings):
        out["quality"] = mean_quality(ratings)  # statistics.mean's, to the last bit and type
    return out


def by_expect(
    responses: Sequence[Answer],
    ratings: Sequence[Rated],
    expect_of: Mapping[str, str],
    kinds: Sequence[str] = EXPECT_KINDS,
    first_of: Mapping[str, str] | None = None,
    continued: Set[str] = frozenset(),
) -> dict[str, dict[str, ExpectScore]]:
    """model -> expect kind -> ExpectScore, from the human ratings of `responses`.

    `expect_of` maps a response id to its case's expect kind; answers to cases that expect
    nothing in particular are left out. Every kind in `kinds` is present for every model
    (n_rated 0 where none was rated).

    A case that took several turns counts once, by its last answer: `first_of` maps each
    later turn to its conversation's first answer, and the answers a later turn continued
    (`continued`) are left out. A `clarify` case that went on is handled when its first answer asked (as
    rated) and its last answer's outcome is success; other kinds judge the last answer.
    """
    first_of = first_of or {}
    rated: dict[str, list[Rated]] = defaultdict(list)
    for rating in human_ratings(ratings):
        rated[rating.response_id].append(rating)
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: {k: [0, 0, 0] for k in kinds})
    for response in responses:
        kind = expect_of.get(response.id, "")
        counts[response.model]  # every model in scope gets an entry
        if kind not in kinds or not rated.get(response.id) or response.id in continued:
            continue
        last = combined_rating(rated[response.id])
        first = first_of.get(response.id)
        verdict = handled(kind, last)
        if first is not None and kind == "clarify":
            asked = handled(kind, combined_rating(rated[first])) if rated.get(first) else None
            verdict = None if asked is None or not last.get("outcome") else asked and last["outcome"] == "success"
        if verdict is None:
            continue
        counts[response.model][kind][0] += 1
        counts[response.model][kind][1] += int(verdict)
        counts[response.model][kind][2] += first is not None
    return {
        model: {kind: ExpectScore(n, k, _share(k, n), wilson_interval(k, n), extra)
                for kind, (n, k, extra) in per.items()}
        for model, per in counts.items()
    }


def paired_comparison(
    units: Sequence[tuple[Hashable, str, str]],
    ratings: Sequence[Rated],
    model_a: str,
    model_b: str,
    later_turns: Set[str] = frozenset(),
) -> PairedComparison:
    """Compare two models on shared units: `units` holds (unit, model, response id), a unit
    being a (case, sample) of a run. Only human ratings count; when a model has several
    rated answers to one unit, the one rated last is used. `later_turns`: the answers that
    continued a conversation (turn 2 on), counted as cases that needed an extra turn."""
    rated: dict[str, list[Rated]] = defaultdict(list)
    for rating in human_ratings(ratings):
        rated[rating.response_id].append(rating)
    chosen: dict[tuple[Hashable, str], tuple[float, dict[str, Any], bool]] = {}
    for unit, model, response_id in units:
        if model not in (model_a, model_b) or not rated.get(response_id):
            continue
        when = max(r.created_at for r in rated[response_id])
        key = (unit, model)
        if key not in chosen or when > chosen[key][0]:
            chosen[key] = (when, combined_rating(rated[response_id]), response_id in later_turns)
    wins = losses = ties = 0
    shared = {u for u, m in chosen if m == model_a} & {u for u, m in chosen if m == model_b}
    for unit in shared:
        sign = _better(chosen[(unit, model_a)][1], chosen[(unit, model_b)][1])
        wins += sign > 0
        losses += sign < 0
        ties += sign == 0
    warnings = []
    if not enough(wins + losses):
        warnings.append(f"too few decided pairs for a sign test (n={wins + losses}, want {MIN_SAMPLES}+)")
    return PairedComparison(model_a, model_b, len(shared), wins, losses, ties, sign_test(wins, losses),
                            tuple(warnings), sum(chosen[(u, model_a)][2] for u in shared),
                            sum(chosen[(u, model_b)][2] for u in shared))


def _better(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
    """+1 if a is the better answer, -1 if b is, 0 for a tie (see the module docstring)."""
    oa, ob = _OUTCOME_RANK.get(a.get("outcome", "")), _OUTCOME_RANK.get(b.get("outcome", ""))
    if oa is None or ob is None:
        return 0
    if oa != ob:
        return 1 if oa > ob else -1
    qa, qb = a.get("quality"), b.get("quality")
    if qa is None or qb is None or qa == qb:
        return 0
    return 1 if qa > qb else -1


@dataclass(frozen=True)
class CostPoint:
    """One model on the cost-against-success chart. `cost` None: the cost per success is not
    known (no success yet, or no price); the point sits on the chart's top edge, said in `label`."""

    models: tuple[str, ...]  # several when their points coincide: one marker, every name
    success_pct: float
    ci_pct: tuple[float, float] | None
    cost: float | None
    y: float
    label: str


def cost_success_chart(scores: Sequence[ModelScore]) -> tuple[list[CostPoint], tuple[float, float]]:
    """Every model with a success rate as a point (success %, cost per successful task), and
    the y range: from 0 to a margin above the dearest known cost, so one value shared by
    every point still gets a readable axis; models at the same spot share one labelled point."""
    known = [s.cost_per_success_usd for s in scores
             if s.success_rate is not None and s.cost_per_success_usd is not None]
    top = max(known) * 1.3 if known and max(known) > 0 else 1.0
    spots: dict[tuple[float, float | None], list[ModelScore]] = {}
    for s in scores:
        if s.success_rate is not None:
            spots.setdefault((round(s.success_rate * 100, 6), s.cost_per_success_usd), []).append(s)
    points = []
    for (x, cost), group in spots.items():
        names = tuple(s.model for s in group)
        first = group[0]
        ci = (first.success_ci[0] * 100, first.success_ci[1] * 100) if first.success_ci else None
        why = "" if cost is not None else (" (no success yet)" if not first.successes else " (cost unknown)")
        label = "\n".join(f"{name}{why}" for name in names)
        points.append(CostPoint(names, x, ci, cost, top if cost is None else cost, label))
    return points, (0.0, top)
