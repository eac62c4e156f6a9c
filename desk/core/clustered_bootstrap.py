"""The p95 interval of pooled values resampled by group (a load run's inter-token gaps,
resampled by request), drawn as whole numpy arrays to the very same figures.

The definition (see `desk.core.load.clustered_p95_interval`): resample i picks as many
groups as there are, uniformly with replacement, with Python's `random.Random(seed)`
(`choices`: group floor(random() * groups) per pick); its estimate is the linear-
interpolation p95 (`percentile`) of the pooled values of the picked groups; the interval is
`percentile` of the estimates at the tails. numpy's MT19937 started from that generator's
state draws the same doubles, so the picks are the same; each value then weighs as often as
its group was picked, and a running sum of weights from the largest value down finds each
resample's two order statistics (rows of a matrix, about 5 % of the pool deep; the whole pool
only for a resample heavy in the tail). Pure Python took 1 s of a 5,000-request summary.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

from desk.core.statistics import percentile

if TYPE_CHECKING:
    import numpy as np

_CELLS_PER_BLOCK = 1 << 20  # running sums are taken this many at a time, so memory stays flat


class Pool:
    """The values of some groups, sorted once (largest first), with the group of each."""

    def __init__(self, groups: Sequence[Sequence[float]]) -> None:
        import numpy as np  # on first use: the CLI's start does not wait for numpy
        self.groups = [g for g in groups if g]
        self.sizes = np.fromiter((len(g) for g in self.groups), dtype=np.int64, count=len(self.groups))
        flat = np.fromiter(itertools.chain.from_iterable(self.groups), dtype=float, count=int(self.sizes.sum()))
        owner = np.repeat(np.arange(len(self.groups), dtype=np.intp), self.sizes)
        # Descending; among equal values any order finds the same value at a rank.
        order = np.argsort(-flat, kind="stable")
        self.values: np.ndarray = flat[order]
        self.owners: np.ndarray = owner[order]

    def ascending(self) -> list[float]:
        values: list[float] = self.values[::-1].tolist()  # Python floats
        return values


def _generator(seed: int) -> np.random.Generator:
    """numpy's MT19937 in the state `random.Random(seed)` starts in: its doubles (53 bits of
    two words, as CPython's `random()` makes them) come in the same order."""
    import numpy as np
    state = random.Random(seed).getstate()[1]  # 624 words of MT19937 and the position
    bits = np.random.MT19937()
    bits.state = {"bit_generator": "MT19937",
                  "state": {"key": np.array(state[:624], dtype=np.uint32), "pos": state[624]}}
    return np.random.Generator(bits)


def _weights(rng: np.random.Generator, n_groups: int, rows: int) -> np.ndarray:
    """rows x group -> how often the next `rows` resamples picked the group, as
    `choices(range(n_groups), k=n_groups)` picks: group floor(random() * n_groups)."""
    import numpy as np
    picks = np.floor(rng.random(size=(rows, n_groups)) * float(n_groups)).astype(np.intp)
    picks += np.arange(rows, dtype=np.intp)[:, None] * n_groups
    return np.bincount(picks.ravel(), minlength=rows * n_groups).reshape(rows, n_groups)


def _walk(weights: np.ndarray, owners: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """For each row: how many of the (descending) values come before the running sum of
    their weights reaches each of the row's `ranks` (bisect_left of the running sums);
    len(owners) where it never does."""
    import numpy as np
    out = np.empty(ranks.shape, dtype=np.intp)
    rows = max(1, _CELLS_PER_BLOCK // max(1, len(owners)))
    for start in range(0, len(weights), rows):
        running = np.cumsum(weights[start:start + rows][:, owners], axis=1)
        block = ranks[start:start + rows]
        for k in range(ranks.shape[1]):
            out[start:start + rows, k] = (running < block[:, k:k + 1]).sum(axis=1)
    return out


def _estimates(pool: Pool, weights: np.ndarray, band: int) -> np.ndarray:
    """Each resample's p95 (a row of group weights), exactly as `percentile` interpolates it."""
    import numpy as np
    n = weights @ pool.sizes  # values in each resample
    position = (n - 1) * 0.95
    lo = np.floor(position).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    ranks = np.stack([n - lo, n - hi], axis=1)  # ascending rank k is the (n - k)-th largest
    found = _walk(weights, pool.owners[:band], ranks)
    deep = np.flatnonzero(found.max(axis=1) >= band)  # the band's weights fell short
    if len(deep):
        found[deep] = _walk(weights[deep], pool.owners, ranks[deep])
    at_lo, at_hi = pool.values[found[:, 0]], pool.values[found[:, 1]]
    result: np.ndarray = at_lo + (position - lo) * (at_hi - at_lo)
    return result


def clustered_p95(pool: Pool, seed: int, n_resamples: int, confidence: float) -> tuple[float, float] | None:
    """See the module docstring; None with fewer than two groups."""
    import numpy as np
    n_groups = len(pool.groups)
    if n_groups < 2:
        return None
    tail = (1 - confidence) / 2 * 100
    rng = _generator(seed)
    size = len(pool.values)
    band = min(size, int(0.05 * size * 1.2) + 64)  # a little deeper than the pool's own p95
    rows = max(1, _CELLS_PER_BLOCK // n_groups)  # resamples at a time: memory stays flat in groups
    estimates = np.concatenate([_estimates(pool, _weights(rng, n_groups, min(rows, n_resamples - start)), band)
                                for start in range(0, n_resamples, rows)])
    listed = estimates.tolist()
    lower, upper = percentile(listed, tail), percentile(listed, 100 - tail)
    assert lower is not None and upper is not None
    return lower, upper
