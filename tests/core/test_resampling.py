"""The fast cost-per-success bootstrap (desk.core.resampling) gives the definition's figures
bit for bit: the same intervals as summing every
resample as `bootstrap_ratio_intervals` defines it (kept below as it was written)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.core import resampling
from desk.core.statistics import bootstrap_ratio_intervals


def _defined(data, n_resamples=2000, seed=0, confidence=0.95):
    """`bootstrap_ratio_intervals` as first written: every resample gathered and summed."""
    tail = (1 - confidence) / 2 * 100
    out = []
    for numerators, denominators in data:
        if len(numerators) < 2 or math.fsum(denominators) == 0:
            out.append(None)
            continue
        n = len(numerators)
        paired = np.asarray(numerators, dtype=float) + 1j * np.asarray(denominators, dtype=float)
        rng = np.random.default_rng(seed)
        per_block = max(1, (1 << 17) // n)
        sums = []
        for start in range(0, n_resamples, per_block):
            rows = rng.integers(0, n, size=(min(per_block, n_resamples - start), n), dtype=np.intp)
            sums.append(paired[rows].sum(axis=1))
        row = np.concatenate(sums)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.where(row.imag != 0, row.real / np.where(row.imag != 0, row.imag, 1), math.inf)
        ordered = np.sort(ratios).tolist()
        out.append((_percentile_of_sorted(ordered, tail), _percentile_of_sorted(ordered, 100 - tail)))
    return out


def _percentile_of_sorted(ordered, q):
    position = (len(ordered) - 1) * q / 100
    lo = math.floor(position)
    hi = min(lo + 1, len(ordered) - 1)
    frac = position - lo
    a, b = ordered[lo], ordered[hi]
    if math.isinf(b):
        return b if frac > 0 or math.isinf(a) else a
    return float(a + frac * (b - a))


def _costs(rng, n, successes):
    costs = np.round(rng.lognormal(-7, 0.6, size=n), 10)
    costs[rng.random(n) < 0.05] = 0.0  # unknown cost: counted as 0
    wins = (rng.random(n) < successes).astype(float)
    return costs.tolist(), wins.tolist()


@pytest.mark.parametrize("n", [2, 3, 5, 40, 700, 3001])
@pytest.mark.parametrize("successes", [0.02, 0.5, 0.97])
def test_intervals_equal_the_definition_bit_for_bit(n, successes):
    rng = np.random.default_rng(n)
    data = [_costs(rng, n, successes) for _ in range(3)] + [_costs(rng, n + 1, successes)]
    for seed in (0, 4):
        assert bootstrap_ratio_intervals(data, seed=seed) == _defined(data, seed=seed)


def test_ties_and_unbounded_resamples_equal_the_definition():
    same = ([0.02] * 50, [1.0] * 50)  # every ratio alike: every resample is a candidate
    rare = ([0.01] * 30, [0.0] * 29 + [1.0])  # most resamples hold no success: +inf
    whole = ([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 0, 1])
    other = ([0.5, float("nan"), 0.25], [1, 1, 1])  # not boundable: summed as defined
    weights = ([0.3, 0.1, 0.2, 0.4], [0.5, 1.5, 1.0, 2.0])  # fractional denominators, likewise
    for data in (same, rare, whole, weights):
        for resamples in (1, 2, 39, 2000):  # alone, and beside another data set of its length (counted)
            assert bootstrap_ratio_intervals([data], n_resamples=resamples) == _defined([data], resamples)
            together = [data, (data[0][::-1], data[1][::-1])]
            assert bootstrap_ratio_intervals(together, n_resamples=resamples) == _defined(together, resamples)
    assert repr(bootstrap_ratio_intervals([other, other])) == repr(_defined([other, other]))


def test_only_a_few_resamples_are_summed_again(monkeypatch):
    summed = []
    exact = resampling._exact_rows
    monkeypatch.setattr(resampling, "_exact_rows", lambda *a: summed.append(sum(map(len, a[1]))) or exact(*a))
    data = [_costs(np.random.default_rng(1), 5000, 0.5) for _ in range(2)]
    assert bootstrap_ratio_intervals(data) == _defined(data)
    assert 8 <= sum(summed) <= 80  # four ranks read per data set, a few near ties each


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_small_data_gives_the_definitions_intervals(data):
    n = data.draw(st.integers(2, 60))
    scale = data.draw(st.sampled_from((1e-9, 1e-3, 1.0, 1e6)))
    numbers = st.one_of(st.sampled_from((0.0, 1.0, 2.5)), st.floats(-1e3, 1e3, allow_nan=False))
    sets = [([v * scale for v in data.draw(st.lists(numbers, min_size=n, max_size=n))],
             data.draw(st.lists(st.sampled_from((0.0, 1.0, 1.0, 2.0, -1.0)), min_size=n, max_size=n)))
            for _ in range(data.draw(st.integers(2, 3)))]
    resamples = data.draw(st.sampled_from((1, 7, 200)))
    seed = data.draw(st.integers(0, 3))
    assert bootstrap_ratio_intervals(sets, n_resamples=resamples, seed=seed) == _defined(sets, resamples, seed)
