"""The fast bootstrap samplers draw from exactly the distribution of the plain bootstrap.

Each is held against an enumeration of every equally likely resample (small data), or
against the straightforward implementation on the same draws.
"""

import math
from collections import Counter
from itertools import product

import numpy as np
import pytest

from desk.core.statistics import (
    _fit_bradley_terry,
    _fit_bradley_terry_many,
    _resampled_percentiles,
    bootstrap_interval,
    bootstrap_percentile_intervals,
    bootstrap_ratio_interval,
    bradley_terry_bootstrap,
    percentile,
)


def _exact_distribution(values, statistic):
    """value of the statistic -> probability, over all n^n resamples."""
    n = len(values)
    counts = Counter(round(statistic([values[i] for i in idx]), 9) for idx in product(range(n), repeat=n))
    return {v: c / n**n for v, c in counts.items()}


@pytest.mark.parametrize("values", [[1.0, 2.0, 4.0], [3.0, 1.0, 1.0, 7.0], [5.0, 2.0, 9.0, 4.0, 6.0]])
def test_resampled_percentiles_follow_the_exact_bootstrap_distribution(values):
    draws = 200_000
    got = _resampled_percentiles(values, [50, 95], draws, np.random.default_rng(1))
    for q in (50, 95):
        exact = _exact_distribution(values, lambda v, q=q: percentile(v, q))
        seen = Counter(np.round(got[q], 9).tolist())
        assert set(seen) <= set(exact)  # never a value the bootstrap cannot produce
        for value, p in exact.items():
            # within 5 standard errors of a binomial share
            assert seen[value] / draws == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / draws) + 1e-9)


def test_the_same_resamples_serve_every_percentile():
    # The median and the maximum of one resample: the maximum is never below the median.
    got = _resampled_percentiles([1.0, 5.0, 2.0, 8.0, 3.0], [50, 100], 20_000, np.random.default_rng(2))
    assert (got[100] >= got[50]).all()


def test_percentile_intervals_agree_with_the_plain_bootstrap():
    data = np.random.default_rng(3).lognormal(6, 0.7, size=300).tolist()
    fast = bootstrap_percentile_intervals(data, [50, 95], n_resamples=20_000, seed=4)
    ordered = sorted(data)
    for q in (50, 95):
        plain = bootstrap_interval(data, lambda v, q=q: percentile(v, q), n_resamples=20_000, seed=5)
        # Bounds are order statistics (or between two): the two Monte Carlo runs land on
        # the same or a neighbouring one.
        for a, b in zip(fast[q], plain, strict=True):
            k = np.searchsorted(ordered, a)
            step = max(ordered[min(k + 2, 299)] - ordered[max(k - 2, 0)], 1e-9)
            assert abs(a - b) <= step
    assert bootstrap_percentile_intervals(data, [50], seed=9) == bootstrap_percentile_intervals(data, [50], seed=9)
    assert bootstrap_percentile_intervals([1.0], [50]) is None
    assert bootstrap_percentile_intervals([2.0, 2.0, 2.0], [50, 95]) == {50: (2.0, 2.0), 95: (2.0, 2.0)}


def test_ratio_interval_matches_the_exact_distribution():
    # Three answers: costs 1, 2, 4; the first two succeeded. 27 equally likely resamples.
    nums, dens = [1.0, 2.0, 4.0], [1.0, 1.0, 0.0]

    def ratio(idx):
        d = sum(dens[i] for i in idx)
        return sum(nums[i] for i in idx) / d if d else math.inf

    exact = sorted(ratio(idx) for idx in product(range(3), repeat=3))
    # With 27 equally likely values and many resamples, the 2.5% and 97.5% points are the
    # exact distribution's, up to where they sit between two of its values.
    lower, upper = bootstrap_ratio_interval(nums, dens, n_resamples=200_000, seed=6)
    assert lower == pytest.approx(exact[0]) and upper == math.inf == exact[-1]
    mid = bootstrap_ratio_interval([1.0, 2.0, 3.0, 4.0, 8.0], [1, 1, 1, 1, 1], n_resamples=100_000, seed=7)
    ref = _plain_ratio_interval([1.0, 2.0, 3.0, 4.0, 8.0], [1, 1, 1, 1, 1], 100_000)
    assert mid == pytest.approx(ref, abs=0.21)  # sample means move in steps of 1/5


def _plain_ratio_interval(nums, dens, n_resamples):
    rng = np.random.default_rng(11)
    n = len(nums)
    est = []
    for _ in range(n_resamples):
        idx = rng.integers(0, n, n)
        d = sum(dens[i] for i in idx)
        est.append(sum(nums[i] for i in idx) / d if d else math.inf)
    est.sort()
    return percentile(est, 2.5), percentile(est, 97.5)


def test_many_bradley_terry_fits_equal_the_single_fit():
    rng = np.random.default_rng(8)
    items = ["a", "b", "c", "d"]
    sets = []
    for _ in range(25):
        games = [(items[i], items[j], float(rng.choice([0.0, 0.5, 1.0])))
                 for i, j in rng.integers(0, 4, size=(int(rng.integers(1, 30)), 2)) if i != j]
        sets.append(games)
    wins = np.full((len(sets), 4), 0.5)
    pair = np.zeros((len(sets), 4, 4))
    for s, games in enumerate(sets):
        for a, b, score in games:
            i, j = items.index(a), items.index(b)
            wins[s, i] += score
            wins[s, j] += 1 - score
            pair[s, i, j] += 1
            pair[s, j, i] += 1
    many = _fit_bradley_terry_many(wins, pair, iterations=1000, tol=1e-10, prior=0.5)
    for s, games in enumerate(sets):
        single = _fit_bradley_terry(items, games, iterations=1000, tol=1e-10, prior=0.5)
        assert many[s].tolist() == pytest.approx([single[i] for i in items], rel=1e-8)


def test_bradley_terry_bootstrap_brackets_the_fit_of_lopsided_data():
    games = [("a", "b", 1.0)] * 30 + [("a", "b", 0.0)] * 10 + [("b", "c", 1.0)] * 20 + [("b", "c", 0.5)] * 5
    intervals = bradley_terry_bootstrap(games, n_resamples=2000, seed=1)
    assert intervals["a"][0] > 1 > intervals["c"][1]  # a clearly above average, c clearly below


def test_bradley_terry_bootstrap_agrees_with_refitting_each_resample():
    # The plain way: draw the comparisons with replacement and refit, one resample at a time.
    import random

    games = ([("a", "b", 1.0)] * 14 + [("a", "b", 0.0)] * 6 + [("b", "c", 1.0)] * 9 + [("c", "b", 0.5)] * 4
             + [("c", "a", 1.0)] * 3 + [("a", "c", 1.0)] * 7)
    rng = random.Random(3)
    refits = {"a": [], "b": [], "c": []}
    for _ in range(3000):
        fit = _fit_bradley_terry(["a", "b", "c"], rng.choices(games, k=len(games)), iterations=1000, tol=1e-10,
                                 prior=0.5)
        for item, strength in fit.items():
            refits[item].append(strength)
    fast = bradley_terry_bootstrap(games, n_resamples=3000, seed=4)
    for item, values in refits.items():
        plain = (percentile(values, 2.5), percentile(values, 97.5))
        assert fast[item] == pytest.approx(plain, rel=0.08), item
