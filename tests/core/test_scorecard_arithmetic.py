"""The scorecard's shortcuts give exactly the figures of the plain arithmetic they replace
(issue 21): the mean as statistics.mean has it, to the last bit and in its type, and the cost
intervals of several models at once as each one's own."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from desk.core.statistics import bootstrap_ratio_interval, bootstrap_ratio_intervals, exact_mean


def _samples(seed: int) -> list[list[float]]:
    rng = random.Random(seed)
    out: list[list[float]] = []
    for _ in range(400):
        k = rng.randint(1, 60)
        out.append(rng.choice([
            [rng.randint(1, 5) for _ in range(k)],  # quality scores: the mean may be a whole int
            [round(rng.randint(200, 1200) * 1e-6 + rng.randint(250, 500) * 4e-6, 10) for _ in range(k)],  # costs
            [rng.uniform(-1e3, 1e3) * 10.0 ** rng.randint(-300, 300) for _ in range(k)],
            [rng.choice([rng.randint(1, 5), rng.randint(1, 9) / rng.randint(1, 3)]) for _ in range(k)],
            [5e-324, 1e308, -1e308, 0.0, -0.0][: max(1, k % 6)],
            [2**60 + rng.randint(0, 9) for _ in range(k)],  # ints no float holds
        ]))
    return out


@pytest.mark.parametrize("seed", range(3))
def test_exact_mean_is_statistics_mean(seed):
    for values in _samples(seed):
        got, want = exact_mean(values), statistics.mean(values)
        assert got == want and type(got) is type(want), values


def test_exact_mean_of_one_value_and_of_a_hundred_thousand():
    assert exact_mean([3]) == 3 and type(exact_mean([3])) is int
    rng = random.Random(7)
    costs = [round(rng.lognormvariate(-6, 1), 10) for _ in range(100_000)]
    assert exact_mean(costs) == statistics.mean(costs)


def test_cost_intervals_together_are_each_ones_own():
    rng = random.Random(3)

    def data(n: int, p: float) -> tuple[list[float], list[float]]:
        return [rng.uniform(0, 0.01) for _ in range(n)], [float(rng.random() < p) for _ in range(n)]

    # Same lengths share their draws, other lengths draw their own; too short and never
    # successful sets have no interval; a rare success leaves the upper end unbounded.
    sets = [data(300, 0.6), data(300, 0.3), data(299, 0.5), data(1, 1.0), data(50, 0.0), data(300, 0.6),
            data(40, 0.03)]
    together = bootstrap_ratio_intervals(sets, n_resamples=500, seed=11)
    alone = [bootstrap_ratio_interval(nums, dens, n_resamples=500, seed=11) for nums, dens in sets]
    assert together == alone
    assert together[3] is None and together[4] is None and together[0] is not None
    assert math.isinf(together[6][1])
    with pytest.raises(ValueError):
        bootstrap_ratio_intervals([([1.0, 2.0], [1.0])])
