"""The prediction-powered rate (issue 14) matches the authors' reference implementation
(ppi-python, classic PPI: lam=1) to 1e-6, and its interval covers the true rate about 95%
of the time when the judge is biased."""

from __future__ import annotations

import math
import random

import pytest

from desk.core.ppi import figure_value, ppi_mean


def _biased_world(rng: random.Random, n_all: int, n_human: int, rate: float):
    """True labels at `rate`; a judge that says 1 for 85% of the 1s and 25% of the 0s
    (its mean is biased upward); a uniform random sample of answers rated by people."""
    truth = [float(rng.random() < rate) for _ in range(n_all)]
    judge = [float(rng.random() < (0.85 if y else 0.25)) for y in truth]
    sample = rng.sample(range(n_all), n_human)
    return [truth[i] for i in sample], [judge[i] for i in sample], judge


def test_matches_ppi_python_to_1e_6():
    ppi_py = pytest.importorskip("ppi_py")
    np = pytest.importorskip("numpy")
    rng = random.Random(11)
    for n_all, n_human, rate in [(500, 40, 0.3), (2000, 100, 0.1), (300, 30, 0.7), (50, 5, 0.5)]:
        human, judged_sample, judge_all = _biased_world(rng, n_all, n_human, rate)
        ours = ppi_mean(human, judged_sample, judge_all)
        args = (np.array(human), np.array(judged_sample), np.array(judge_all))
        estimate = float(np.ravel(ppi_py.ppi_mean_pointestimate(*args, lam=1))[0])
        low, high = (np.ravel(x) for x in ppi_py.ppi_mean_ci(*args, alpha=0.05, lam=1))
        assert ours.estimate == pytest.approx(estimate, abs=1e-6)
        assert (ours.low, ours.high) == (pytest.approx(float(low[0]), abs=1e-6), pytest.approx(float(high[0]), abs=1e-6))


def test_by_hand():
    # judge mean over all 0.5; differences (1-1, 1-0, 0-0, 1-1) mean 0.25 -> 0.75; the
    # variances: judge 0.25 / 6, differences 0.1875 / 4 -> se 0.29756, z 1.95996
    est = ppi_mean([1, 1, 0, 1], [1, 0, 0, 1], [1, 1, 0, 1, 0, 0])
    assert est.estimate == pytest.approx(0.75)
    se = (0.25 / 6 + 0.1875 / 4) ** 0.5
    assert (est.low, est.high) == (pytest.approx(0.75 - 1.959963984540054 * se), pytest.approx(0.75 + 1.959963984540054 * se))
    assert (est.n, est.n_judged) == (4, 6)
    assert ppi_mean([1], [1], [1, 0]) is None


def test_the_interval_covers_the_true_rate_about_95_percent_with_a_biased_judge():
    rng = random.Random(2023)
    rate, trials, covered, naive_covered = 0.3, 400, 0, 0
    for _ in range(trials):
        human, judged_sample, judge_all = _biased_world(rng, 2000, 150, rate)
        est = ppi_mean(human, judged_sample, judge_all)
        covered += est.low <= rate <= est.high
        naive = sum(judge_all) / len(judge_all)  # the judge alone: ~0.43, never near 0.3
        naive_covered += abs(naive - rate) < 0.02
    assert 0.92 <= covered / trials <= 0.98, covered / trials
    assert naive_covered == 0


@pytest.mark.parametrize(("figure", "values", "expected"), [
    ("success", {"outcome": "success"}, 1.0),
    ("success", {"outcome": "partial"}, 0.0),
    ("clarifying", {"uncertainty": "asked_clarifying"}, 1.0),
    ("fabrication", {"uncertainty": "confident_wrong"}, 1.0),
    ("fabrication", {"uncertainty": "confident_correct"}, 0.0),
    ("violation", {"constraints": "violated"}, 1.0),
    ("violation", {"constraints": "na"}, None),
    ("success", {}, None),
])
def test_figure_values(figure, values, expected):
    assert figure_value(figure, values) == expected


def test_ratings_needed_with_and_without_a_judge():
    from desk.core.ppi import ratings_needed

    z2 = 1.959963984540054 ** 2
    # Without: n >= z^2 p(1-p) / h^2 = 384.1 -> 385
    assert ratings_needed(0.05, people_variance=0.25) == 385 == math.ceil(z2 * 0.25 / 0.05 ** 2)
    # With a judge over 1000 answers (variance 0.25) whose differences from people vary by 0.05:
    # n >= 0.05 / ((0.05/z)^2 - 0.25/1000) = 124.7 -> 125
    assert ratings_needed(0.05, people_variance=0.25, judge_variance=0.25, difference_variance=0.05,
                          n_judged=1000) == 125
    # A judge over too few answers cannot reach the target whatever people add.
    assert ratings_needed(0.05, people_variance=0.25, judge_variance=0.25, difference_variance=0.05,
                          n_judged=100) is None


def test_validated_cost_per_success_adds_the_judges_cost_of_each_answer():
    from desk.core.judged_rates import validated_costs

    model_of = {"a1": "cheap", "a2": "cheap", "a3": "cheap", "b1": "premium", "b2": "premium"}
    cost_of = {"a1": 0.001, "a2": 0.001, "a3": None, "b1": 0.02, "b2": 0.02}  # a3's cost is unknown
    judge_cost_of = {"a1": 0.0005, "a2": 0.0005, "a3": 0.0005}
    people = {"a1": {"outcome": "success"}, "a2": {"outcome": "failure"}, "b1": {"outcome": "success"},
              "b2": {"outcome": "success"}}
    cheap, premium = validated_costs(model_of, cost_of, judge_cost_of, people)
    assert (cheap.successes, cheap.answers, cheap.judged) == (1, 3, 3)
    assert cheap.cost_per_success_usd == pytest.approx(0.002)
    assert cheap.validated_cost_per_success_usd == pytest.approx(0.002 + 0.0015)
    assert premium.cost_per_success_usd == pytest.approx(0.02)
    assert premium.validated_cost_per_success_usd is None  # no judge cost measured for it


def test_the_plan_does_not_trust_a_rate_of_zero_or_one_on_a_few_answers():
    from desk.core.judged_rates import judged_rates, oversight_plan

    model_of = {f"a{i}": "m" for i in range(3)}
    people = {rid: {"uncertainty": "confident_wrong"} for rid in model_of}  # 3 of 3 fabricated
    (rate,) = judged_rates(model_of, people, {}, set(), {}, ("fabrication",))
    plan = oversight_plan(rate, people, {}, list(model_of), set(), 0.05)
    # Wilson [0.44, 1.0] for 3/3: p = 0.5 at worst -> 385 in all, 382 more; no judge: none with it
    assert (plan.rated, plan.more_without_judge, plan.more_with_judge) == (3, 382, None)
