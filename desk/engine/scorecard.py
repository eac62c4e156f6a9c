"""Per-model scorecard from stored ratings, answers and attempts, with honest intervals.

Units and rules, stated once:
- A *rated answer* is a response with at least one current rating in scope. When several
  raters rated it, each criterion takes the majority value (a tie goes to the most recent
  rating); quality is the mean of their scores. With one rater this is just that rating.
- Rates are shares of rated answers; the constraint violation rate counts only answers
  where constraints applied (followed or violated).
- Latency uses every answer of the model in scope that finished ok, rated or not.
- Cost per successful task is all money spent on the model's attempts in scope
  (failures and retries included) divided by the answers rated a success; answers whose
  cost is unknown are left out of the sum and counted in `cost_unknown`.
- Pairwise: "both bad" counts as a tie. Bradley–Terry strengths are normalised to a
  geometric mean of 1 across models.
Any figure from fewer than `MIN_SAMPLES` observations carries a warning.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import mean
from typing import Any

from desk.core.rating import Preference, Rating
from desk.core.response import ResponseResult, Status
from desk.core.statistics import (
    MIN_SAMPLES,
    bootstrap_interval,
    bradley_terry,
    bradley_terry_bootstrap,
    cohen_kappa,
    enough,
    krippendorff_alpha,
    percentile,
    wilson_interval,
)


@dataclass
class ModelScore:
    model: str
    n_rated: int = 0
    n_answers: int = 0
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
    pairwise_games: int = 0
    pairwise_win_rate: float | None = None
    bt_score: float | None = None
    bt_ci: tuple[float, float] | None = None
    agreement: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "n_rated": self.n_rated,
            "n_answers": self.n_answers,
            "success_rate": self.success_rate,
            "success_ci": list(self.success_ci) if self.success_ci else None,
            "clarifying_rate": self.clarifying_rate,
            "fabrication_rate": self.fabrication_rate,
            "constraint_violation_rate": self.constraint_violation_rate,
            "n_constraints_applicable": self.n_constraints,
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
            "pairwise_games": self.pairwise_games,
            "pairwise_win_rate": self.pairwise_win_rate,
            "bt_score": self.bt_score,
            "bt_ci": list(self.bt_ci) if self.bt_ci else None,
            "agreement": self.agreement,
            "warnings": self.warnings,
        }


def _majority(values: list[tuple[float, Any]]) -> Any:
    """Most common value; ties go to the most recent. `values` holds (created_at, value)."""
    counts = Counter(v for _, v in values)
    top = max(counts.values())
    for _, value in sorted(values, key=lambda cv: cv[0], reverse=True):
        if counts[value] == top:
            return value
    return None


def _share(hits: int, n: int) -> float | None:
    return hits / n if n else None


def compute_scorecard(
    responses: Sequence[ResponseResult],
    ratings: Sequence[Rating],
    preferences: Sequence[Preference] = (),
    *,
    seed: int = 0,
    n_resamples: int = 2000,
) -> list[ModelScore]:
    """One ModelScore per model, ordered by model name."""
    by_id = {r.id: r for r in responses}
    by_model: dict[str, list[ResponseResult]] = defaultdict(list)
    for r in responses:
        by_model[r.model].append(r)
    ratings_by_response: dict[str, list[Rating]] = defaultdict(list)
    for rating in ratings:
        if rating.response_id in by_id:
            ratings_by_response[rating.response_id].append(rating)

    comparisons = _comparisons(preferences, by_id)
    strengths = bradley_terry(comparisons) if comparisons else {}
    strength_ci = (
        bradley_terry_bootstrap(comparisons, n_resamples=min(n_resamples, 1000), seed=seed)
        if comparisons else {}
    )
    games: Counter[str] = Counter()
    points: Counter[str] = Counter()
    for a, b, score in comparisons:
        games[a] += 1
        games[b] += 1
        points[a] += score
        points[b] += 1 - score

    scores = []
    for model in sorted(by_model):
        answers = by_model[model]
        s = ModelScore(model=model, n_answers=len(answers))
        rated = [(r, ratings_by_response[r.id]) for r in answers if ratings_by_response.get(r.id)]
        s.n_rated = len(rated)
        outcome = [_majority([(x.created_at, x.outcome) for x in rs]) for _, rs in rated]
        uncertainty = [_majority([(x.created_at, x.uncertainty) for x in rs]) for _, rs in rated]
        constraints = [_majority([(x.created_at, x.constraints) for x in rs]) for _, rs in rated]
        qualities = [mean(x.quality for x in rs if x.quality is not None) for _, rs in rated
                     if any(x.quality is not None for x in rs)]
        s.successes = sum(1 for o in outcome if o == "success")
        s.success_rate = _share(s.successes, s.n_rated)
        s.success_ci = wilson_interval(s.successes, s.n_rated)
        s.clarifying_rate = _share(sum(u == "asked_clarifying" for u in uncertainty), s.n_rated)
        s.fabrication_rate = _share(sum(u == "confident_wrong" for u in uncertainty), s.n_rated)
        applicable = [c for c in constraints if c in ("followed", "violated")]
        s.n_constraints = len(applicable)
        s.constraint_violation_rate = _share(sum(c == "violated" for c in applicable), len(applicable))
        s.mean_quality = mean(qualities) if qualities else None

        totals = [r.total_ms for r in answers if r.status == Status.OK and r.total_ms is not None]
        s.median_total_ms = percentile(totals, 50)
        s.p95_total_ms = percentile(totals, 95)
        s.median_total_ci = bootstrap_interval(totals, lambda v: percentile(v, 50), seed=seed,
                                               n_resamples=n_resamples)
        s.p95_total_ci = bootstrap_interval(totals, lambda v: percentile(v, 95), seed=seed,
                                            n_resamples=n_resamples)

        known = [r.cost_usd for r in answers if r.cost_usd is not None]
        s.cost_unknown = len(answers) - len(known)
        s.total_cost_usd = round(sum(known), 10) if known else None
        s.mean_cost_usd = round(mean(known), 10) if known else None
        if s.successes and s.total_cost_usd is not None:
            s.cost_per_success_usd = round(s.total_cost_usd / s.successes, 10)

        s.pairwise_games = games[model]
        s.pairwise_win_rate = _share_float(points[model], games[model])
        s.bt_score = strengths.get(model)
        s.bt_ci = strength_ci.get(model)
        s.agreement = _agreement(rated)

        if not enough(s.n_rated):
            s.warnings.append(f"too few rated answers (n={s.n_rated}, want {MIN_SAMPLES}+)")
        if not enough(len(totals)):
            s.warnings.append(f"too few finished answers for latency (n={len(totals)})")
        if s.pairwise_games and not enough(s.pairwise_games):
            s.warnings.append(f"too few pairwise comparisons (n={s.pairwise_games})")
        if s.cost_unknown:
            s.warnings.append(f"{s.cost_unknown} answer(s) with unknown cost left out of the cost figures")
        scores.append(s)
    return scores


def _share_float(points: float, n: int) -> float | None:
    return points / n if n else None


def _comparisons(preferences: Sequence[Preference], by_id: dict[str, ResponseResult]) -> list[tuple[str, str, float]]:
    out = []
    for p in preferences:
        a, b = by_id.get(p.response_a), by_id.get(p.response_b)
        if a is None or b is None or a.model == b.model:
            continue
        score = {"a": 1.0, "b": 0.0}.get(p.winner, 0.5)  # tie and both_bad: neither better
        out.append((a.model, b.model, score))
    return out


def _agreement(rated: list[tuple[ResponseResult, list[Rating]]]) -> dict[str, Any]:
    """Inter-rater agreement on the answers two or more raters rated."""
    raters = sorted({x.rater for _, rs in rated for x in rs})
    shared = [(r, rs) for r, rs in rated if len({x.rater for x in rs}) >= 2]
    if len(raters) < 2 or not shared:
        return {}
    result: dict[str, Any] = {"raters": len(raters), "n_items": len(shared)}
    for criterion in ("outcome", "uncertainty"):
        if len(raters) == 2:
            a = [next(x.values.get(criterion) for x in rs if x.rater == raters[0]) for _, rs in shared
                 if {x.rater for x in rs} >= set(raters)]
            b = [next(x.values.get(criterion) for x in rs if x.rater == raters[1]) for _, rs in shared
                 if {x.rater for x in rs} >= set(raters)]
            result[criterion] = {"cohen_kappa": cohen_kappa(a, b)}
        else:
            units = [[next((x.values.get(criterion) for x in rs if x.rater == who), None) for who in raters]
                     for _, rs in shared]
            result[criterion] = {"krippendorff_alpha": krippendorff_alpha(units)}
    if not enough(len(shared)):
        result["warning"] = f"too few items rated by several raters (n={len(shared)})"
    return result
