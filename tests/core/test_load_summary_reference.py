"""The load summary's fast paths (numpy cluster bootstrap, similarity per distinct pair of
answers) give exactly the figures of the straightforward code they replaced, kept here as
the reference."""

from __future__ import annotations

import bisect
import difflib
import itertools
import math
import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

from desk.core.load import agreement, clustered_p95_interval, summarize
from desk.core.statistics import percentile
from tests.bench.bench_summary import outcomes


class ReferencePool:
    """desk.core.load._Pool before numpy: the values sorted once (largest first), with the group of each."""

    def __init__(self, groups: Sequence[Sequence[float]]) -> None:
        self.groups = [g for g in groups if g]
        flat = list(itertools.chain.from_iterable(self.groups))
        owner = list(itertools.chain.from_iterable(itertools.repeat(r, len(g)) for r, g in enumerate(self.groups)))
        order = sorted(range(len(flat)), key=flat.__getitem__, reverse=True)
        self.values = [flat[i] for i in order]
        self.owners = [owner[i] for i in order]


def reference_clustered_p95(groups, seed, n_resamples=500, confidence=0.95):
    """desk.core.load._clustered_p95 before numpy (one resample at a time in Python)."""
    pool = ReferencePool(groups)
    if len(pool.groups) < 2:
        return None
    tail = (1 - confidence) / 2 * 100
    values, owners = pool.values, pool.owners
    sizes = [len(g) for g in pool.groups]
    band = min(len(values), int(0.05 * len(values) * 1.2) + 64)
    rng = random.Random(seed)
    population = range(len(sizes))
    estimates = []
    for _ in range(n_resamples):
        picks = rng.choices(population, k=len(sizes))
        weight = [0] * len(sizes)
        for r, k in Counter(picks).items():
            weight[r] = k
        n = sum(map(sizes.__getitem__, picks))
        position = (n - 1) * 0.95
        lo = math.floor(position)
        hi = min(lo + 1, n - 1)
        deepest = n - lo
        running = list(itertools.accumulate(map(weight.__getitem__, owners[:band])))
        if running[-1] < deepest:
            running = list(itertools.accumulate(map(weight.__getitem__, owners)))
        at_lo = values[bisect.bisect_left(running, deepest)]
        at_hi = values[bisect.bisect_left(running, n - hi)]
        estimates.append(at_lo + (position - lo) * (at_hi - at_lo))
    return percentile(estimates, tail), percentile(estimates, 100 - tail)


def reference_agreement(texts: Sequence[str], max_pairs: int = 200) -> dict[str, Any] | None:
    """desk.core.load.agreement before the per-pair cache: difflib on every pair."""
    if len(texts) < 2:
        return None
    norm = [" ".join(t.lower().split()).strip(" .!?,;:") for t in texts]
    top = Counter(norm).most_common(1)[0][1]
    pairs = list(itertools.islice(itertools.combinations(range(len(norm)), 2), max_pairs))
    sims = [difflib.SequenceMatcher(None, norm[i], norm[j], autojunk=False).ratio() for i, j in pairs]
    return {"n": len(texts), "exact_match_rate": top / len(texts), "mean_similarity": sum(sims) / len(sims)}


@pytest.mark.parametrize("seed", range(12))
def test_cluster_bootstrap_equals_the_reference_exactly(seed):
    rng = random.Random(seed)
    n_groups = rng.choice([2, 3, 7, 60, 400])
    sizes = rng.choice([(1, 1), (1, 3), (5, 30), (1, 200)])
    # ties (rounded gaps), heavy tails (slow connections), empty groups (no gaps)
    groups = [[round(rng.expovariate(1 / (50 if r % 7 == 0 else 5)), rng.choice([0, 1, 6]))
               for _ in range(rng.randint(*sizes) if rng.random() > 0.05 else 0)]
              for r in range(n_groups)]
    n_resamples = rng.choice([1, 50, 500])
    got = clustered_p95_interval(groups, seed=seed, n_resamples=n_resamples)
    want = reference_clustered_p95(groups, seed, n_resamples) if sum(1 for g in groups if g) >= 2 else None
    assert got == want  # bit for bit, not approximately


def test_cluster_bootstrap_walks_the_whole_pool_when_a_resample_is_heavy_in_the_tail():
    # one group holds every large value: resamples that pick it often push the p95 past the band
    groups = [[1000.0 + i for i in range(300)], *([[float(i % 5)] * 3 for i in range(40)])]
    for seed in range(5):
        assert clustered_p95_interval(groups, seed=seed, n_resamples=200) == reference_clustered_p95(groups, seed, 200)


@pytest.mark.parametrize("seed", range(8))
def test_agreement_equals_the_reference_exactly(seed):
    rng = random.Random(seed)
    distinct = [" ".join(rng.choice(["Paris", "is", "the", "capital", "Lyon", "France."]) for _ in range(rng.randint(0, 12)))
                for _ in range(rng.randint(1, 6))]
    texts = [rng.choice(distinct) + rng.choice(["", ".", "  ", "!"]) for _ in range(rng.randint(2, 40))]
    assert agreement(texts) == reference_agreement(texts)
    assert agreement(texts, max_pairs=7) == reference_agreement(texts, max_pairs=7)


def test_summary_of_a_built_run_equals_the_reference_figures():
    outs = outcomes(600, 12, prompts=3, seed=4)
    s = summarize(outs, 10.0)
    ok = [o for o in outs if o.status == "ok"]
    assert s["itl_ms"]["p95_ci"] == list(reference_clustered_p95([o.itl_ms for o in ok], 0))
    by_input: dict[int, list[str]] = {}
    for o in ok:
        by_input.setdefault(o.input_index, []).append(o.text)
    groups = [reference_agreement(t) for t in by_input.values()]
    n = sum(g["n"] for g in groups)
    assert s["stability"]["mean_similarity"] == sum(g["mean_similarity"] * g["n"] for g in groups) / n


def test_repeated_answers_are_compared_once_per_distinct_ordered_pair(monkeypatch):
    import desk.core.load as load

    compared = []

    class Counting(difflib.SequenceMatcher):
        def ratio(self):
            compared.append((self.a, self.b))
            return super().ratio()

    monkeypatch.setattr(load.difflib, "SequenceMatcher", Counting)
    load._similarity.cache_clear()
    texts = ["Paris is the capital.", "paris is the capital", "Lyon, maybe."] * 30
    want = reference_agreement(texts)
    compared.clear()
    assert agreement(texts) == want
    # 200 pairs of three texts (two equal once normalised): difflib ran on the two ordered distinct pairs only
    assert sorted(compared) == [("lyon, maybe", "paris is the capital"), ("paris is the capital", "lyon, maybe")]
    compared.clear()
    agreement(texts)  # the run's summary meets its step's pairs again
    assert compared == []


def test_cluster_bootstrap_in_small_blocks_draws_the_same_resamples(monkeypatch):
    import desk.core.clustered_bootstrap as clustered

    rng = random.Random(9)
    groups = [[rng.expovariate(0.1) for _ in range(rng.randint(1, 30))] for _ in range(300)]
    want = reference_clustered_p95(groups, 2, 101)
    monkeypatch.setattr(clustered, "_CELLS_PER_BLOCK", 700)  # 2 resamples of 300 groups at a time, odd last block
    assert clustered_p95_interval(groups, seed=2, n_resamples=101) == want
