"""Prediction-powered inference for a rate (Angelopoulos, Bates, Fannjiang, Jordan, Zrnic,
Science 2023): a few human ratings combined with many judged ones.

The estimate is the judge's mean over all N judged answers, corrected by the mean
human-minus-judge difference on the n answers a person also rated; its normal interval
adds both variances (the judge's over all answers / N, the differences' / n). It is valid
only when the human-rated answers are a uniform random sample of the judged ones, which
is why desk combines only answers drawn for its calibration sample. This is classic PPI
(no power tuning: ppi_py's `lam=1`); the interval is not clipped to [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist, fmean, pstdev

FIGURES = ("success", "clarifying", "fabrication", "violation")


@dataclass(frozen=True)
class PPIEstimate:
    estimate: float
    low: float
    high: float
    n: int  # answers a person rated (and the judge judged)
    n_judged: int  # answers the judge judged


def ppi_mean(human: Sequence[float], judge_on_human: Sequence[float], judge_all: Sequence[float],
             confidence: float = 0.95) -> PPIEstimate | None:
    """The prediction-powered mean and its interval; None with fewer than 2 of either."""
    if len(human) != len(judge_on_human):
        raise ValueError("each human-rated answer needs the judge's value for it")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    n, big_n = len(human), len(judge_all)
    if n < 2 or big_n < 2:
        return None
    differences = [y - f for y, f in zip(human, judge_on_human, strict=True)]
    estimate = fmean(judge_all) + fmean(differences)
    se = math.sqrt((pstdev(judge_all) / math.sqrt(big_n)) ** 2 + (pstdev(differences) / math.sqrt(n)) ** 2)
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    return PPIEstimate(estimate, estimate - z * se, estimate + z * se, n, big_n)


def figure_value(figure: str, values: dict[str, object]) -> float | None:
    """1.0 or 0.0: whether a rating shows `figure`; None where it does not apply (the
    violation rate counts only answers whose constraints applied)."""
    if figure == "success":
        return float(values.get("outcome") == "success") if values.get("outcome") else None
    if figure == "clarifying":
        return float(values.get("uncertainty") == "asked_clarifying") if values.get("uncertainty") else None
    if figure == "fabrication":
        return float(values.get("uncertainty") == "confident_wrong") if values.get("uncertainty") else None
    if figure == "violation":
        c = values.get("constraints")
        return float(c == "violated") if c in ("followed", "violated") else None
    raise ValueError(f"figure {figure!r} is not one of {', '.join(FIGURES)}")


FIGURE_CRITERION = {"success": "outcome", "clarifying": "uncertainty", "fabrication": "uncertainty",
                    "violation": "constraints"}


def calibration_order(response_ids: Sequence[str], seed: int) -> list[str]:
    """The order a run's answers are drawn for its calibration sample: a uniform random
    permutation from `seed` (sorted first, so the order does not depend on how they were listed)."""
    import random

    order = sorted(set(response_ids))
    random.Random(seed).shuffle(order)
    return order


def ratings_needed(half_width: float, *, people_variance: float, judge_variance: float | None = None,
                   difference_variance: float | None = None, n_judged: int = 0,
                   confidence: float = 0.95) -> int | None:
    """Human ratings a 95% interval of `half_width` needs: without a judge, the people's
    variance alone (n >= z²·σ²/h²); with one, PPI's (n >= σ_Δ² / ((h/z)² - σ_f²/N)). None
    when the judge's own share of the variance already exceeds the target (more human
    ratings cannot reach it)."""
    if half_width <= 0:
        raise ValueError("the half-width must be positive")
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    budget = (half_width / z) ** 2
    if judge_variance is None or difference_variance is None:
        return math.ceil(people_variance / budget)
    room = budget - (judge_variance / n_judged if n_judged else math.inf)
    if room <= 0:
        return None
    return math.ceil(difference_variance / room)
