"""The cost-per-success bootstrap's resamples, counted fast to the very same figures.

`desk.core.statistics.bootstrap_ratio_intervals` defines the interval: resample i draws the
indices `rng.integers(0, n, size=n)` (rows of one matrix from `np.random.default_rng(seed)`),
sums the numerators and the denominators it picked (numpy's pairwise sum of a complex row)
and divides. At 100,000 answers that is millions of draws and gathers per model. Here:

- the indices are drawn once per length, as the definition draws them;
- every resample's sums come first from how often it drew each item: one count per block
  of resamples and one matrix product for all models at once, instead of a gather and a
  sum per model. These sums can differ from the pairwise ones in the last bits, so each
  carries a bound on that difference;
- only the resamples whose ratio could sit at the ranks the interval reads (within their
  bounds of the rank) are summed again exactly as the definition says: the interval is
  bit for bit the one the definition gives (tests/core/test_resampling.py holds it so).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

_EPS = float(np.finfo(float).eps)
_DRAWS_PER_BLOCK = 1 << 20  # indices counted per block: a few MB, whatever the data's size
_DRAWS_PER_MARK = 1 << 17  # indices drawn at a time: a resample summed again draws these again


class _Draws:
    """The resampled indices, block after block of rows of `rng.integers(0, n, size=(rows, n))`
    from `np.random.default_rng(seed)`, as the definition draws them; a block can be drawn
    again from where it started (`mark`, `restore`: the generator's whole state)."""

    def __init__(self, seed: int, n: int) -> None:
        self._rng = np.random.default_rng(seed)
        self._n = n

    def mark(self) -> Mapping[str, Any]:
        return self._rng.bit_generator.state

    def restore(self, mark: Mapping[str, Any]) -> None:
        self._rng.bit_generator.state = mark

    def rows(self, count: int) -> np.ndarray:
        return self._rng.integers(0, self._n, size=(count, self._n), dtype=np.intp)


def order_statistics_by_length(
    groups: Sequence[Sequence[tuple[np.ndarray, np.ndarray]]], n_resamples: int, seed: int, ranks: Sequence[int]
) -> list[list[dict[int, float]]]:
    """`ratio_order_statistics` of each group (data sets of one length each). Each length
    draws its own indices from its own generator (2,000 x n of them: a real store's models
    rarely have as many answers each), so several big groups are worked on side by side, on
    up to _MAX_THREADS threads: numpy draws, gathers and sums without the GIL. The same
    figures as one after the other, in about half the wall time on two cores, no more CPU."""
    workers = min(len(groups), os.cpu_count() or 1, _MAX_THREADS)
    big = sum(len(group[0][0]) for group in groups) * n_resamples >= _THREADS_FROM
    with _one_blas_thread():  # once for all threads: the limit is the process's
        if workers < 2 or not big:
            return [ratio_order_statistics(group, n_resamples, seed, ranks) for group in groups]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers, thread_name_prefix="desk-resample") as pool:
            return list(pool.map(lambda group: ratio_order_statistics(group, n_resamples, seed, ranks), groups))


_MAX_THREADS = 4  # each holds a block of draws and their gather (~25 MB): memory stays bounded
_THREADS_FROM = 1 << 24  # fewer draws than this are drawn one length after another: threads would not pay


def ratio_order_statistics(
    data: Sequence[tuple[np.ndarray, np.ndarray]], n_resamples: int, seed: int, ranks: Sequence[int]
) -> list[dict[int, float]]:
    """For each (numerators, denominators) of one length n: the values at `ranks` (0-based)
    of the sorted resampled ratios, as `bootstrap_ratio_intervals` defines them (a resample
    whose denominators sum to 0 is +infinity). Called by order_statistics_by_length, which
    keeps BLAS on one thread around it."""
    n = len(data[0][0])
    if len(data) == 1 or not _countable(data, n):  # one data set: counting saves no gather
        return [_at_ranks(np.sort(ratios), ranks) for ratios in _exact_ratios(data, n, n_resamples, seed)]
    stream = _Draws(seed, n)
    approx, slack, marks = _counted_ratios(data, n, n_resamples, stream)
    wanted = [_candidates(approx[:, k], slack[:, k], ranks) for k in range(len(data))]
    rows = [np.flatnonzero(np.any([c for c, _ in w.values()], axis=0)) for w in wanted]
    exact = _exact_rows(data, rows, marks, stream)
    out = []
    for w, ratios in zip(wanted, exact, strict=True):
        out.append({rank: sorted(ratios[r] for r in np.flatnonzero(candidates).tolist())[rank - below]
                    for rank, (candidates, below) in w.items()})
    return out


def _countable(data: Sequence[tuple[np.ndarray, np.ndarray]], n: int) -> bool:
    """Whether counted sums hold a bound of their error: finite numerators, and denominators
    that are whole numbers every sum of which is exact (as the pairwise sum's are)."""
    for numerators, denominators in data:
        if not (np.isfinite(numerators).all() and np.isfinite(denominators).all()):
            return False
        if (denominators != np.round(denominators)).any() or n * float(np.abs(denominators).max()) >= 2.0**52:
            return False
        if n * float(np.abs(numerators).max()) >= 1e300:
            return False
    return True


Mark = tuple[int, int, Mapping[str, Any]]  # (first row, rows, the generator's state before them)


def _counted_ratios(
    data: Sequence[tuple[np.ndarray, np.ndarray]], n: int, n_resamples: int, stream: _Draws
) -> tuple[np.ndarray, np.ndarray, list[Mark]]:
    """Each resample's ratio for each data set from counted sums, a bound on how far it may
    be from the definition's, and where each few rows of resamples start in the stream (to
    draw a row again, only its few are)."""
    m = len(data)
    # A row per data set's numerators, its denominators and, when some numerator is negative,
    # their magnitudes (costs never are: their magnitudes' sums are their sums, one product less).
    signed = any((numerators < 0).any() for numerators, _ in data)
    table = np.empty(((3 if signed else 2) * m, n))
    for k, (numerators, denominators) in enumerate(data):
        table[k], table[m + k] = numerators, denominators
        if signed:
            table[2 * m + k] = np.abs(numerators)
    sums = np.empty((n_resamples, len(table)))
    per_block, per_mark = max(1, _DRAWS_PER_BLOCK // n), max(1, _DRAWS_PER_MARK // n)
    marks = []
    for start in range(0, n_resamples, per_block):  # BLAS on one thread: see order_statistics_by_length
        counts = np.empty((min(per_block, n_resamples - start), n))
        for first in range(0, len(counts), per_mark):
            rows = min(per_mark, len(counts) - first)
            marks.append((start + first, rows, stream.mark()))
            drawn = stream.rows(rows) + (np.arange(rows, dtype=np.intp) * n)[:, None]  # row r counts in [r*n, r*n+n)
            counts[first : first + rows] = np.bincount(drawn.ravel(), minlength=rows * n).reshape(rows, n)
        sums[start : start + len(counts)] = (table @ counts.T).T
    numerators, denominators = sums[:, :m], sums[:, m : 2 * m]
    magnitudes = sums[:, 2 * m :] if signed else numerators
    nothing = denominators == 0  # exact: whole numbers sum exactly in any order
    safe = np.where(nothing, 1.0, np.abs(denominators))
    with np.errstate(divide="ignore", invalid="ignore"):
        approx = np.where(nothing, np.inf, numerators / np.where(nothing, 1.0, denominators))
    # Any order of summing n terms errs by at most about n * eps * sum |x|; twice that for
    # the two sums compared, and the division's rounding on top.
    slack = np.where(nothing, 0.0, 8 * (n + 2) * _EPS * magnitudes / safe + 4 * _EPS * np.abs(approx) + 1e-300)
    return approx, slack, marks


def _candidates(approx: np.ndarray, slack: np.ndarray, ranks: Sequence[int]) -> dict[int, tuple[np.ndarray, int]]:
    """rank -> (the resamples whose exact ratio may be the one at that rank, how many are
    surely below it). Exact values lie within `slack` of `approx`, so the rank's value lies
    between the rank's lowest and highest possible values."""
    low, high = approx - slack, approx + slack
    low_sorted, high_sorted = np.sort(low), np.sort(high)
    out = {}
    for rank in ranks:
        below = high < low_sorted[rank]
        above = low > high_sorted[rank]
        out[rank] = (~below & ~above, int(below.sum()))
    return out


def _exact_rows(data: Sequence[tuple[np.ndarray, np.ndarray]], rows: Sequence[np.ndarray],
                marks: list[Mark], stream: _Draws) -> list[dict[int, float]]:
    """For each data set, the ratios of its resamples `rows`, summed as the definition sums them."""
    paired = [numerators + 1j * denominators for numerators, denominators in data]
    out: list[dict[int, float]] = [{} for _ in data]
    for start, count, mark in marks:
        local = [wanted[(wanted >= start) & (wanted < start + count)] for wanted in rows]
        if not any(len(chosen) for chosen in local):
            continue
        stream.restore(mark)
        drawn = stream.rows(count)
        for values, chosen, ratios in zip(paired, local, out, strict=True):
            if len(chosen):
                ratios.update(zip(chosen.tolist(), _ratios(values[drawn[chosen - start]].sum(axis=1)).tolist(),
                                  strict=True))
    return out


def _ratios(sums: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sums.imag != 0, sums.real / np.where(sums.imag != 0, sums.imag, 1), np.inf)


def _exact_ratios(data: Sequence[tuple[np.ndarray, np.ndarray]], n: int, n_resamples: int,
                  seed: int) -> list[np.ndarray]:
    """Every resample's ratio as the definition computes it (for data the counted sums cannot bound)."""
    paired = [numerators + 1j * denominators for numerators, denominators in data]
    stream = _Draws(seed, n)
    blocks: list[list[np.ndarray]] = [[] for _ in data]
    per_block = max(1, _DRAWS_PER_BLOCK // n)
    for start in range(0, n_resamples, per_block):
        drawn = stream.rows(min(per_block, n_resamples - start))
        for values, sums in zip(paired, blocks, strict=True):
            sums.append(_ratios(values[drawn].sum(axis=1)))
    return [np.concatenate(b) for b in blocks]


def _at_ranks(ordered: np.ndarray, ranks: Sequence[int]) -> dict[int, float]:
    return {rank: float(ordered[rank]) for rank in ranks}


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """The products above are small: BLAS threads would spin more than they compute (twice
    the CPU time on two cores). threadpoolctl says so to the BLAS numpy loaded, if present."""
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        limits = threadpool_limits(1, user_api="blas")
    except Exception:  # absent, or a BLAS it cannot steer: the products run on BLAS's own threads
        yield
        return
    try:
        yield
    finally:
        limits.restore_original_limits()
