"""Run versus run at 100,000 answers (issue 21): the comparison's resampled statistics are
read off counts and running counts over sorted values instead of copying each resample, and
must be exactly what numpy gives on the copies: np.percentile(values[rows], q, axis=-1) on
the same bootstrap rows, the same on the permuted runs (np.where) for the same swaps, and
the cost per success of the same rows (to rounding: a sum in another order)."""

from __future__ import annotations

import tracemalloc
from dataclasses import replace

import numpy as np
import pytest

from desk.core.run_compare import (
    AnswerFacts,
    _bootstrap_counts,
    _cost_per_success_rows,
    _measures,
    _Paired,
    _permuted,
    _resampled,
    _swaps,
)

QS = (0, 37.5, 50, 95, 100)


def _values(rng: np.random.Generator, n: int, kind: str) -> np.ndarray:
    if kind == "ties":  # a few distinct values, many repeated
        return rng.integers(0, 4, size=n).astype(float) * 12.5
    if kind == "inf":
        return np.where(rng.random(n) < 0.2, np.inf, rng.lognormal(5, 0.5, size=n))
    return rng.lognormal(5, 0.5, size=n)


def _counts(rows: np.ndarray, n: int) -> np.ndarray:
    return np.stack([np.bincount(r, minlength=n) for r in rows]).astype(np.int32)


def _latencies(a: np.ndarray, b: np.ndarray) -> _Paired:
    return _Paired("ms", a, b, tuple((f"q{q}", q) for q in QS))


def _same(got: np.ndarray, want: np.ndarray) -> bool:
    return got.shape == want.shape and np.array_equal(got, want, equal_nan=True)


@pytest.mark.parametrize("kind", ["ties", "continuous", "inf"])
def test_a_resampled_percentile_is_numpys_on_the_same_rows_to_the_last_bit(kind):
    rng = np.random.default_rng(sum(map(ord, kind)))
    for n in range(2, 301):
        a, b = _values(rng, n, kind), _values(rng, n, kind)
        rows = rng.integers(0, n, size=(5, n))
        with np.errstate(invalid="ignore"):
            got = _resampled(_latencies(a, b), _counts(rows, n))
            for q in QS:
                stat_a, stat_b = got[f"q{q}"]
                assert _same(stat_a, np.percentile(a[rows], q, axis=-1)), (n, q)
                assert _same(stat_b, np.percentile(b[rows], q, axis=-1)), (n, q)


@pytest.mark.parametrize("kind", ["ties", "continuous", "inf"])
def test_a_permuted_percentile_is_numpys_on_the_swapped_runs_to_the_last_bit(kind):
    rng = np.random.default_rng(7 + sum(map(ord, kind)))
    for n in range(2, 301):
        a, b = _values(rng, n, kind), _values(rng, n, kind)
        if n % 3 == 0:
            b[: n // 2] = a[: n // 2]  # values the two runs share
        swap = (rng.random((5, n)) < 0.5).astype(np.uint8)
        with np.errstate(invalid="ignore"):
            got = _permuted(_latencies(a, b), swap)
            for q in QS:
                x, y = got[f"q{q}"]
                assert _same(x, np.percentile(np.where(swap, b, a), q, axis=-1)), (n, q)
                assert _same(y, np.percentile(np.where(swap, a, b), q, axis=-1)), (n, q)


def _costs(rng: np.random.Generator, n: int, wins: float) -> np.ndarray:
    return np.stack([rng.uniform(0.001, 0.02, size=n), (rng.random(n) < wins).astype(float)], axis=-1)


def _close(got: np.ndarray, want: np.ndarray) -> None:
    assert np.array_equal(np.isinf(got), np.isinf(want))  # no success in a resample: unbounded on both
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-12, atol=0)


def test_a_resampled_and_a_permuted_cost_per_success_are_the_copies_to_rounding():
    rng = np.random.default_rng(11)
    for n in (2, 3, 5, 17, 100, 301):
        for wins in (0.05, 0.7):  # few successes: some resamples have none
            a, b = _costs(rng, n, wins), _costs(rng, n, wins)
            s = _Paired("usd", a, b, (("cost_per_success", None),))
            rows = rng.integers(0, n, size=(40, n))
            stat_a, stat_b = _resampled(s, _counts(rows, n))["cost_per_success"]
            _close(stat_a, _cost_per_success_rows(a[rows]))
            _close(stat_b, _cost_per_success_rows(b[rows]))
            swap = (rng.random((40, n)) < 0.5).astype(np.uint8)
            x, y = _permuted(s, swap)["cost_per_success"]
            _close(x, _cost_per_success_rows(np.where(swap[..., None], b, a)))
            _close(y, _cost_per_success_rows(np.where(swap[..., None], a, b)))


def test_bootstrap_counts_are_those_of_uniform_draws_of_the_pairs():
    for n, size in ((2, 9), (13, 40), (1000, 3)):
        counts = _bootstrap_counts(np.random.default_rng(5), n, size)
        rows = np.random.default_rng(5).integers(0, n, size=(size, n), dtype=np.uint32)
        assert np.array_equal(counts, _counts(rows.astype(np.intp), n))
        assert (counts.sum(axis=1) == n).all()


def test_swaps_are_fair_coins():
    swap = _swaps(np.random.default_rng(3), 13, 20000)
    assert swap.shape == (20000, 13) and set(np.unique(swap)) == {0, 1}
    assert abs(swap.mean() - 0.5) < 0.005
    assert np.abs(swap.mean(axis=0) - 0.5).max() < 0.02  # every pair, not only some bits of a byte


def _answers(rng: np.random.Generator, n: int) -> list[tuple[AnswerFacts, AnswerFacts]]:
    def one() -> AnswerFacts:
        return AnswerFacts(success=bool(rng.random() < 0.7), ttft_ms=float(rng.lognormal(5, 0.5)),
                           total_ms=float(rng.lognormal(7, 0.5)), cost_usd=float(rng.uniform(0.001, 0.01)))
    return [(one(), one()) for _ in range(n)]


def test_the_measures_of_many_pairs_take_tens_of_mb_not_the_resamples_copied():
    """2000 resamples of 10,000 pairs copied take 160 MB per copy of indices or values; the
    counts are computed a block at a time."""
    pairs = _answers(np.random.default_rng(2), 10_000)
    tracemalloc.start()
    try:
        figures = _measures(pairs, confidence=0.95, seed=0, n_resamples=2000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [f.name for f in figures] == ["ttft_p50", "ttft_p95", "total_p95", "cost_per_success"]
    assert all(f.n == 10_000 and f.interval is not None for f in figures)
    assert peak < 80e6, peak


def test_measures_over_the_same_pairs_share_their_resamples():
    """ttft_p50 and ttft_p95 (and total_p95 over the same pairs) are figures of the same
    resamples, as when each drew its own from the same seed."""
    pairs = _answers(np.random.default_rng(4), 50)
    once = _measures(pairs, confidence=0.95, seed=3, n_resamples=500)
    again = _measures(pairs, confidence=0.95, seed=3, n_resamples=500)
    assert once == again
    untimed = [(replace(a, ttft_ms=None), replace(b, ttft_ms=None)) for a, b in pairs]
    alone = _measures(untimed, confidence=0.95, seed=3, n_resamples=500)
    assert alone[2] == once[2]  # total_p95 is the same whether or not the other figures were there
