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


def _picks(seed: int, n_groups: int, n_resamples: int) -> np.ndarray:
    """resample x pick -> group, as `random.Random(seed).choices(range(n_groups), k=n_groups)`
    called `n_resamples` times draws them."""
    import numpy as np
    state = random.Random(seed).getstate()[1]  # 624 words of MT19937 and the position
    bits = np.random.MT19937()
    bits.state = {"bit_generator": "MT19937",
                  "state": {"key": np.array(state[:624], dtype=np.uint32), "pos": state[624]}}
    u = np.random.Generator(bits).random(size=(n_resamples, n_groups))  # the same 53-bit doubles
    return np.floor(u * float(n_groups)).astype(np.intp)


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


def clustered_p95(pool: Pool, seed: int, n_resamples: int, confidence: float) -> tuple[float, float] | None:
    """See the module docstring; None with fewer than two groups."""
    import numpy as np
    n_groups = len(pool.groups)
    if n_groups < 2:
        return None
    tail = (1 - confidence) / 2 * 100
    picks = _picks(seed, n_groups, n_resamples)
    offsets = np.arange(n_resamples, dtype=np.intp)[:, None] * n_groups
    weights = np.bincount((picks + offsets).ravel(), minlength=n_resamples * n_groups)
    weights = weights.reshape(n_resamples, n_groups).astype(np.int64)
    n = weights @ pool.sizes  # values in each resample
    position = (n - 1) * 0.95
    lo = np.floor(position).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    # ascending rank k is the (n - k)-th largest
    ranks = np.stack([n - lo, n - hi], axis=1)
    size = len(pool.values)
    band = min(size, int(0.05 * size * 1.2) + 64)  # a little deeper than the pool's own p95
    found = _walk(weights, pool.owners[:band], ranks)
    deep = np.flatnonzero(found.max(axis=1) >= band)  # the band's weights fell short
    if len(deep):
        found[deep] = _walk(weights[deep], pool.owners, ranks[deep])
    at_lo, at_hi = pool.values[found[:, 0]], pool.values[found[:, 1]]
    estimates = at_lo + (position - lo) * (at_hi - at_lo)
    lower, upper = percentile(estimates.tolist(), tail), percentile(estimates.tolist(), 100 - tail)
    assert lower is not None and upper is not None
    return lower, upper
