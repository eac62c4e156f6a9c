"""Rate figures three ways (issue 14): people only, the judge only, and combined by
prediction-powered inference (desk.core.ppi) on the run's calibration sample.

Per answer, the people's value is the first person's rating of it (as in
desk.core.judge_agreement). The combined figure uses only answers drawn for the
calibration sample that both a person and the judge rated, and the judge's values over
every answer it judged; without such answers it says so instead of a number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from statistics import pvariance
from typing import Any

from desk.core.ppi import FIGURE_CRITERION, FIGURES, PPIEstimate, figure_value, ppi_mean, ratings_needed
from desk.core.statistics import wilson_interval

Values = Mapping[str, Any]


@dataclass(frozen=True)
class JudgedRate:
    model: str
    figure: str
    people_n: int
    people_rate: float | None
    people_interval: tuple[float, float] | None  # Wilson
    judge_n: int
    judge_rate: float | None
    judge_calibrated: bool  # for this figure's criterion (desk.core.judge_agreement)
    combined: PPIEstimate | None
    combined_note: str  # why there is no combined figure, or ""

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["people_interval"] = list(self.people_interval) if self.people_interval else None
        return out


def judged_rates(model_of: Mapping[str, str], people: Mapping[str, Values], judge: Mapping[str, Values],
                 sample: set[str], calibrated: Mapping[str, bool],
                 figures: Sequence[str] = FIGURES) -> list[JudgedRate]:
    """Per model (in first-seen order) and figure: people's, the judge's and the combined rate."""
    models = list(dict.fromkeys(model_of.values()))
    out: list[JudgedRate] = []
    for model in models:
        ids = [rid for rid, m in model_of.items() if m == model]
        for figure in figures:
            out.append(_rate(model, figure, ids, people, judge, sample, calibrated.get(FIGURE_CRITERION[figure], False)))
    return out


def _values(figure: str, ids: Sequence[str], of: Mapping[str, Values]) -> dict[str, float]:
    found = {rid: figure_value(figure, dict(of[rid])) for rid in ids if rid in of}
    return {rid: v for rid, v in found.items() if v is not None}


def _rate(model: str, figure: str, ids: Sequence[str], people: Mapping[str, Values], judge: Mapping[str, Values],
          sample: set[str], calibrated: bool) -> JudgedRate:
    human, judged = _values(figure, ids, people), _values(figure, ids, judge)
    k = sum(human.values())
    shared = [rid for rid in human if rid in sample and rid in judged]
    combined = ppi_mean([human[r] for r in shared], [judged[r] for r in shared], list(judged.values()))
    note = ""
    if combined is None:
        note = ("no answer of the calibration sample is rated by a person and the judge yet" if not shared
                else f"only {len(shared)} answer of the calibration sample is rated by a person and the judge")
    return JudgedRate(
        model=model, figure=figure, people_n=len(human), people_rate=k / len(human) if human else None,
        people_interval=wilson_interval(int(k), len(human)), judge_n=len(judged),
        judge_rate=sum(judged.values()) / len(judged) if judged else None, judge_calibrated=calibrated,
        combined=combined, combined_note=note,
    )


@dataclass(frozen=True)
class OversightPlan:
    """More human ratings a figure needs for a target half-width, with the judge and without."""

    model: str
    figure: str
    half_width: float
    rated: int  # human ratings it has now (without the judge: all; with it: calibration sample)
    more_without_judge: int | None
    more_with_judge: int | None  # None: the judge's share of the variance alone is too large


def oversight_plan(rate: JudgedRate, people: Mapping[str, Values], judge: Mapping[str, Values],
                   ids: Sequence[str], sample: set[str], half_width: float) -> OversightPlan:
    """From the variances at hand. People's variance is p(1-p) at the p of their Wilson
    interval nearest 0.5 (0.5 with no ratings yet): a rate of 0 or 1 on a few answers says
    little, and its own zero variance would promise that one more rating is enough."""
    human, judged = _values(rate.figure, ids, people), _values(rate.figure, ids, judge)
    low, high = rate.people_interval or (0.0, 1.0)
    p = min(max(0.5, low), high)
    without = ratings_needed(half_width, people_variance=max(p * (1 - p), 1e-12))
    shared = [rid for rid in human if rid in sample and rid in judged]
    with_judge: int | None = None
    if len(judged) >= 2:
        diffs = [human[r] - judged[r] for r in shared]
        diff_var = pvariance(diffs) if len(diffs) >= 2 else 0.25
        with_judge = ratings_needed(half_width, people_variance=p * (1 - p), judge_variance=pvariance(judged.values()),
                                    difference_variance=diff_var, n_judged=len(judged))
    return OversightPlan(rate.model, rate.figure, half_width, len(human),
                         max(0, without - len(human)) if without is not None else None,
                         max(0, with_judge - len(shared)) if with_judge is not None else None)


@dataclass(frozen=True)
class ValidatedCost:
    """Cost per successful task of one model alone, and with a validating judge: each
    answer's cost plus the judge's measured cost for it ("a cheap model plus a validator"
    against "a premium model alone"). Successes are people's (an unrated answer costs
    money and succeeds never, as on the scorecard); an unknown cost is left out."""

    model: str
    answers: int
    successes: int
    answer_cost_usd: float | None
    judged: int
    judge_cost_usd: float | None  # the judge's requests for this model's answers
    cost_per_success_usd: float | None
    validated_cost_per_success_usd: float | None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def validated_costs(model_of: Mapping[str, str], cost_of: Mapping[str, float | None],
                    judge_cost_of: Mapping[str, float | None], people: Mapping[str, Values]) -> list[ValidatedCost]:
    """Per model (first-seen order): `cost_of` each answer, `judge_cost_of` each judged one."""
    out = []
    for model in dict.fromkeys(model_of.values()):
        ids = [rid for rid, m in model_of.items() if m == model]
        known = [c for c in (cost_of.get(r) for r in ids) if c is not None]
        judged = [c for c in (judge_cost_of.get(r) for r in ids if r in judge_cost_of) if c is not None]
        successes = sum(1 for r in ids if r in people and people[r].get("outcome") == "success")
        total = round(sum(known), 10) if known else None
        judge_total = round(sum(judged), 10) if judged else None
        per = round(total / successes, 10) if total is not None and successes else None
        validated = (round((total + (judge_total or 0.0)) / successes, 10)
                     if total is not None and successes and judge_total is not None else None)
        out.append(ValidatedCost(model, len(ids), successes, total, sum(1 for r in ids if r in judge_cost_of),
                                 judge_total, per, validated))
    return out
