"""The scorecard's statistics, checked against hand-computed and published values."""

import math
import statistics
from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.core.statistics import (
    MIN_SAMPLES,
    bootstrap_interval,
    bootstrap_ratio_interval,
    bradley_terry,
    bradley_terry_bootstrap,
    cohen_kappa,
    enough,
    krippendorff_alpha,
    percentile,
    sign_test,
    wilson_interval,
    win_rate_interval,
    win_rates,
)

# --- Wilson -------------------------------------------------------------------------------


def test_wilson_eight_of_ten():
    # centre = (0.8 + z²/20) / (1 + z²/10) = 0.71674; half-width = z·√(0.016 + z²/400) / (1 + z²/10) = 0.22658
    lower, upper = wilson_interval(8, 10)
    assert lower == pytest.approx(0.4902, abs=1e-4)
    assert upper == pytest.approx(0.9433, abs=1e-4)


def test_wilson_edges():
    lower, upper = wilson_interval(0, 10)
    assert lower == 0.0
    assert upper == pytest.approx(1.959963984540054**2 / (10 + 1.959963984540054**2))  # z²/(n+z²) at p=0
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_the_estimate_within_unit_range(case):
    successes, n = case
    lower, upper = wilson_interval(successes, n)
    assert 0.0 <= lower <= successes / n <= upper <= 1.0


# --- percentile ---------------------------------------------------------------------------


def test_percentile_hand_values():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([4, 1, 3, 2], 50) == 2.5  # input order does not matter
    assert percentile([10], 95) == 10
    # p95 of 1..20: position 19 × 0.95 = 18.05 → 19 + 0.05 × (20 − 19)
    assert percentile(range(1, 21), 95) == pytest.approx(19.05)
    assert percentile([1, 2, 3], 0) == 1 and percentile([1, 2, 3], 100) == 3
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1, 2], 101)


# --- bootstrap ----------------------------------------------------------------------------

DATA = [2.0, 3.0, 3.5, 4.0, 4.0, 5.0, 6.0, 7.5, 8.0, 12.0]


def test_bootstrap_is_reproducible_and_covers_the_median():
    first = bootstrap_interval(DATA, statistics.median, seed=7)
    assert first == bootstrap_interval(DATA, statistics.median, seed=7)
    lower, upper = first
    assert lower <= statistics.median(DATA) <= upper  # 4.5
    assert min(DATA) <= lower < upper <= max(DATA)
    # The seed is what fixes the draws (the median's bounds are data points, so use the mean here).
    by_seed = [bootstrap_interval(DATA, statistics.mean, seed=s) for s in (7, 7, 8)]
    assert by_seed[0] == by_seed[1] != by_seed[2]


def test_bootstrap_undefined_cases():
    assert bootstrap_interval([1.0], statistics.mean) is None
    assert bootstrap_interval([], statistics.mean) is None
    assert bootstrap_interval(DATA, lambda _: None) is None  # never defined → no interval
    assert bootstrap_interval([3.0, 3.0, 3.0], statistics.mean) == (3.0, 3.0)


def test_bootstrap_wider_confidence_is_wider():
    narrow = bootstrap_interval(DATA, statistics.mean, confidence=0.5)
    wide = bootstrap_interval(DATA, statistics.mean, confidence=0.99)
    assert wide[0] <= narrow[0] and narrow[1] <= wide[1]


def test_bootstrap_ratio_interval_hand_values():
    # Two attempts: $0.01 succeeded, $0.03 failed. Resamples: both the first (1/4) -> 0.01;
    # one of each (1/2) -> 0.04; both the second (1/4) -> no success, infinitely expensive.
    # The 2.5% and 97.5% points fall in the first and last groups.
    assert bootstrap_ratio_interval([0.01, 0.03], [1, 0]) == (0.01, math.inf)
    # Every attempt succeeded at the same cost: no spread at all.
    assert bootstrap_ratio_interval([0.02, 0.02, 0.02], [1, 1, 1]) == (0.02, 0.02)
    # Ratio of sums, not mean of ratios: (1+2+3+4)/4 lies inside, bounds are sample means.
    lower, upper = bootstrap_ratio_interval([1, 2, 3, 4], [1, 1, 1, 1], seed=5)
    assert 1 <= lower < 2.5 < upper <= 4
    assert bootstrap_ratio_interval([1, 2, 3, 4], [1, 1, 1, 1], seed=5) == (lower, upper)


def test_bootstrap_ratio_interval_undefined_cases():
    assert bootstrap_ratio_interval([0.01], [1]) is None  # one pair: nothing to resample
    assert bootstrap_ratio_interval([0.01, 0.02], [0, 0]) is None  # no success at all
    with pytest.raises(ValueError):
        bootstrap_ratio_interval([1, 2], [1])


# --- win rates and Bradley–Terry ----------------------------------------------------------


def test_win_rate_interval_is_wilson_on_points():
    # 2 wins and 1 tie of 3: p = 2.5/3; centre = (p + z²/6) / (1 + z²/3) = 0.64617,
    # half-width = z·√(p(1-p)/3 + z²/36) / (1 + z²/3) = 0.33618.
    lower, upper = win_rate_interval(2.5, 3)
    assert lower == pytest.approx(0.30999, abs=1e-5) and upper == pytest.approx(0.98235, abs=1e-5)
    assert win_rate_interval(3, 4) == wilson_interval(3, 4)  # no ties: plain Wilson
    assert win_rate_interval(0, 2)[0] == 0.0 and win_rate_interval(2, 2)[1] == 1.0
    assert win_rate_interval(0, 0) is None
    with pytest.raises(ValueError):
        win_rate_interval(3.5, 3)



def test_win_rates_count_ties_as_half():
    rates = win_rates([("A", "B", 1), ("A", "C", 0.5), ("B", "C", 1)])
    assert rates == {"A": (0.75, 2), "B": (0.5, 2), "C": (0.25, 2)}
    assert win_rates([]) == {}


def _games(winner, loser, wins, losses):
    return [(winner, loser, 1.0)] * wins + [(winner, loser, 0.0)] * losses


THREE = _games("A", "B", 3, 1) + _games("B", "C", 3, 1) + _games("A", "C", 3, 1)


def _penalised_log_likelihood(comparisons, theta, prior):
    """The fitted objective written out directly, in log-strengths θ.

    P(i beats j) = σ(θ_i − θ_j); a tie is half a win each. Each item also plays `prior` virtual
    ties (half a win, half a loss) against an average item at θ̄, the mean log-strength.
    """

    def log_sigmoid(x):
        return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))

    total = sum(
        s * log_sigmoid(theta[i] - theta[j]) + (1 - s) * log_sigmoid(theta[j] - theta[i])
        for i, j, s in comparisons
    )
    mean = statistics.fmean(theta.values())
    return total + sum(prior * 0.5 * (log_sigmoid(t - mean) + log_sigmoid(mean - t)) for t in theta.values())


def _assert_is_penalised_mle(comparisons, strengths, prior=0.5):
    theta = {k: math.log(v) for k, v in strengths.items()}
    h = 1e-5
    for item in theta:  # central-difference gradient ≈ 0
        up = {**theta, item: theta[item] + h}
        down = {**theta, item: theta[item] - h}
        gradient = (
            _penalised_log_likelihood(comparisons, up, prior)
            - _penalised_log_likelihood(comparisons, down, prior)
        ) / (2 * h)
        assert abs(gradient) < 1e-6, (item, gradient)
    best = _penalised_log_likelihood(comparisons, theta, prior)
    for item, sign in product(theta, (1, -1)):  # and a maximum, not a saddle
        nudged = {**theta, item: theta[item] + sign * 0.01}
        assert _penalised_log_likelihood(comparisons, nudged, prior) < best


def test_bradley_terry_orders_a_transitive_tournament():
    strengths = bradley_terry(THREE)
    assert strengths["A"] > strengths["B"] > strengths["C"]
    assert math.prod(strengths.values()) == pytest.approx(1.0)  # geometric mean 1
    _assert_is_penalised_mle(THREE, strengths)


def test_bradley_terry_symmetric_record_is_all_equal():
    even = _games("A", "B", 2, 2) + _games("B", "C", 1, 1) + [("A", "C", 0.5)] * 3
    strengths = bradley_terry(even)
    assert strengths == pytest.approx({"A": 1.0, "B": 1.0, "C": 1.0})


def test_bradley_terry_keeps_unbeaten_items_finite():
    sweep = _games("A", "B", 5, 0) + _games("B", "C", 2, 1)
    strengths = bradley_terry(sweep, prior=0.5)
    assert all(math.isfinite(v) and v > 0 for v in strengths.values())
    assert strengths["A"] > strengths["B"] > strengths["C"]
    _assert_is_penalised_mle(sweep, strengths, prior=0.5)
    # A weaker prior lets the unbeaten item pull further ahead.
    assert bradley_terry(sweep, prior=0.1)["A"] > strengths["A"]


def test_bradley_terry_with_vanishing_prior_is_the_plain_mle():
    # Two items, 3–1: the unpenalised MLE solves p_A / (p_A + p_B) = 3/4, so p_A / p_B = 3.
    strengths = bradley_terry(_games("A", "B", 3, 1), prior=1e-9)
    assert strengths["A"] / strengths["B"] == pytest.approx(3.0, rel=1e-6)


def test_bradley_terry_rejects_nonsense():
    assert bradley_terry([]) == {}
    with pytest.raises(ValueError):
        bradley_terry([("A", "A", 1)])
    with pytest.raises(ValueError):
        bradley_terry([("A", "B", 2)])
    with pytest.raises(ValueError):
        bradley_terry(THREE, prior=0)


def test_bradley_terry_bootstrap():
    intervals = bradley_terry_bootstrap(THREE, n_resamples=300, seed=3)
    assert intervals == bradley_terry_bootstrap(THREE, n_resamples=300, seed=3)
    point = bradley_terry(THREE)
    assert set(intervals) == set(point)
    for item, (lower, upper) in intervals.items():
        assert 0 < lower <= point[item] <= upper
    assert bradley_terry_bootstrap([]) == {}


# --- agreement ----------------------------------------------------------------------------


def _raters_from_table(table):
    """Expand a 2×2 agreement table [[yes-yes, yes-no], [no-yes, no-no]] into two label lists."""
    a, b = [], []
    for (i, j), count in zip(product("YN", repeat=2), (v for row in table for v in row), strict=True):
        a += [i] * count
        b += [j] * count
    return a, b


def test_cohen_kappa_wikipedia_examples():
    # po = 35/50 = 0.7; pe = 0.5·0.6 + 0.5·0.4 = 0.5; κ = (0.7 − 0.5) / (1 − 0.5) = 0.4
    assert cohen_kappa(*_raters_from_table([[20, 5], [10, 15]])) == pytest.approx(0.4)
    # po = 0.6; pe = 0.6·0.3 + 0.4·0.7 = 0.46; κ = 0.14 / 0.54
    assert cohen_kappa(*_raters_from_table([[25, 35], [5, 35]])) == pytest.approx(0.14 / 0.54)


def test_cohen_kappa_edges():
    assert cohen_kappa(["a", "b", "c", "a"], ["a", "b", "c", "a"]) == 1.0
    assert cohen_kappa(["x"] * 4, ["x", "x", "y", "y"]) == 0.0  # po = pe = 0.5
    assert cohen_kappa(["x"] * 4, ["x"] * 4) is None  # pe = 1: undefined, not perfect
    assert cohen_kappa([], []) is None
    with pytest.raises(ValueError):
        cohen_kappa(["a"], ["a", "b"])


N = None
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: 4 observers,
# 12 units, missing data; published nominal alpha = 0.743. Rows are units, columns observers.
RELIABILITY_DATA = [
    [1, 1, N, 1],
    [2, 2, 3, 2],
    [3, 3, 3, 3],
    [3, 3, 3, 3],
    [2, 2, 2, 2],
    [1, 2, 3, 4],
    [4, 4, 4, 4],
    [1, 1, 2, 1],
    [2, 2, 2, 2],
    [N, 5, 5, 5],
    [N, N, 1, 1],
    [N, 3, N, N],  # one value: not pairable, ignored
]


def test_krippendorff_alpha_published_example():
    assert krippendorff_alpha(RELIABILITY_DATA) == pytest.approx(0.743, abs=5e-4)


def test_krippendorff_alpha_binary_two_observers():
    # Krippendorff (2011) example A: 4 of 10 units disagree → Σ o_{c≠k} = 8; n0 = 14, n1 = 6, n = 20;
    # α = 1 − 19 · 8 / (20² − 14² − 6²) = 1 − 152/168 ≈ 0.095
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    alpha = krippendorff_alpha(list(zip(a, b, strict=True)))
    assert alpha == pytest.approx(1 - 152 / 168)
    assert round(alpha, 3) == 0.095


def test_krippendorff_alpha_edges():
    assert krippendorff_alpha([["a", "a", N], ["b", "b", "b"], ["c", N, "c"]]) == 1.0
    # o_12 = o_21 = 1, n1 = 3, n2 = 1: α = 1 − 3 · 2 / (16 − 9 − 1) = 0
    assert krippendorff_alpha([[1, 1], [1, 2]]) == pytest.approx(0.0)
    assert krippendorff_alpha([["x", "x"], ["x", "x", N]]) is None  # one category: De = 0
    assert krippendorff_alpha([["x", N], [N, "y"]]) is None  # nothing pairable
    assert krippendorff_alpha([]) is None


# --- sign test and sample size ------------------------------------------------------------


def test_sign_test_hand_values():
    # P(X ≤ 1) for X ~ Bin(10, ½) is (C(10,0) + C(10,1)) / 2¹⁰ = 11/1024
    assert sign_test(9, 1) == pytest.approx(2 * (1 + 10) / 1024)
    assert sign_test(1, 9) == sign_test(9, 1)
    assert sign_test(9, 1) == pytest.approx(0.02148, abs=1e-5)
    assert sign_test(0, 0) == 1.0
    assert sign_test(5, 5) == 1.0  # 2 · P(X ≤ 5) > 1 is capped
    assert sign_test(6, 0) == pytest.approx(2 / 64)
    assert 0 < sign_test(3000, 2000) < 1e-40  # large n stays exact rather than overflowing


def test_sign_test_equals_scipy_and_the_sum_of_binomial_coefficients():
    """The p-value is scipy's exact binomial test at p = ½, and exactly the sum of C(n, k) it
    is defined as, from a handful of pairs to a run of 100,000 answers' 15,000 (where
    summing math.comb per term took 11 s)."""
    from scipy.stats import binomtest

    def defined(wins: int, losses: int) -> float:
        n = wins + losses
        return min(1.0, sum(math.comb(n, k) for k in range(min(wins, losses) + 1)) / (1 << (n - 1)))

    for wins, losses in [*product(range(25), repeat=2), (400, 900), (3, 2_000), (1_500, 1_400)]:
        if wins + losses:
            assert sign_test(wins, losses) == defined(wins, losses), (wins, losses)
    for wins, losses in [(9, 1), (400, 900), (7_700, 7_500), (7_500, 7_700), (20_000, 19_500)]:
        assert sign_test(wins, losses) == pytest.approx(binomtest(wins, wins + losses).pvalue, rel=1e-9)


def test_enough():
    assert MIN_SAMPLES == 5
    assert not enough(4) and enough(5)
    assert enough(2, minimum=2)


def test_bradley_terry_bootstrap_hears_each_resample_and_stops_when_told():
    calls: list[int] = []
    same = bradley_terry_bootstrap(THREE, n_resamples=40, seed=3, each=calls.append)
    assert calls == list(range(40)) and same == bradley_terry_bootstrap(THREE, n_resamples=40, seed=3)

    class Stop(Exception):
        pass

    def stop_at_ten(i: int) -> None:
        if i == 10:
            raise Stop

    with pytest.raises(Stop):
        bradley_terry_bootstrap(THREE, n_resamples=1000, seed=3, each=stop_at_ten)
