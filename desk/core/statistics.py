"""Honest numbers for the scorecard: intervals, pairwise strengths, rater agreement, sign tests.

Pure computation (no Qt, network or SQL). The bootstraps draw their resamples with numpy
as whole arrays: a scorecard of 100,000 answers resamples millions of values, which pure
Python took minutes over. numpy is imported by the functions that use it, so the CLI's
start (which needs `percentile`) does not wait for it. Every function returns None rather than a made-up number when
the quantity is undefined.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import numpy as np

Z_95 = 1.959963984540054  # two-sided 95% normal quantile
MIN_SAMPLES = 5  # below this the scorecard says "too few samples" instead of a number

Comparison = tuple[str, str, float]
H = TypeVar("H", bound=Hashable)


def enough(n: int, minimum: int = MIN_SAMPLES) -> bool:
    """Tell whether `n` samples are enough to show a statistic."""
    return n >= minimum


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """Return the Wilson score interval for a binomial proportion; None when n == 0."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return None
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # At 0 or n successes the bound is exactly 0 or 1 in theory; rounding would leave 1e-17.
    lower = 0.0 if successes == 0 else max(0.0, centre - half)
    upper = 1.0 if successes == n else min(1.0, centre + half)
    return lower, upper


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the q-th percentile (0-100), interpolating linearly between closest ranks."""
    if not 0 <= q <= 100:
        raise ValueError(f"q must be in [0, 100], got {q}")
    ordered = sorted(values)
    if not ordered:
        return None
    # numpy's default "linear" method: position (n - 1) * q / 100 in the sorted data.
    position = (len(ordered) - 1) * q / 100
    lo = math.floor(position)
    hi = min(lo + 1, len(ordered) - 1)
    frac = position - lo
    return float(ordered[lo] + frac * (ordered[hi] - ordered[lo]))


def _check_confidence(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return (1 - confidence) / 2 * 100  # lower tail, in percent


def bootstrap_interval(
    values: Sequence[float],
    statistic: Callable[[Sequence[float]], float | None],
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Return a percentile-bootstrap interval for `statistic`; None with fewer than 2 values."""
    import numpy as np  # on first use: see the module docstring
    tail = _check_confidence(confidence)
    if n_resamples < 1:
        raise ValueError("n_resamples must be at least 1")
    data = np.asarray(list(values), dtype=float)
    n = len(data)
    if n < 2:
        return None
    rng = np.random.default_rng(seed)  # own generator: reproducible and untouched by other code
    estimates = []
    for rows in _resample_rows(rng, n, n_resamples):
        for row in data[rows]:
            estimate = statistic(row.tolist())
            if estimate is not None:  # a resample where the statistic is undefined says nothing
                estimates.append(estimate)
    if not estimates:
        return None
    lower = percentile(estimates, tail)
    upper = percentile(estimates, 100 - tail)
    assert lower is not None and upper is not None
    return lower, upper


# Resampled indices are drawn this many at a time (1 MB; they stay in cache), so memory stays flat in n.
_DRAWS_PER_BLOCK = 1 << 17


def _resample_rows(rng: np.random.Generator, n: int, n_resamples: int) -> Iterator[np.ndarray]:
    """Blocks of resamples, each row `n` indices drawn uniformly with replacement from range(n)."""
    import numpy as np  # on first use: see the module docstring
    per_block = max(1, _DRAWS_PER_BLOCK // n)
    for start in range(0, n_resamples, per_block):
        yield rng.integers(0, n, size=(min(per_block, n_resamples - start), n), dtype=np.intp)


def bootstrap_percentile_intervals(
    values: Sequence[float],
    qs: Sequence[float],
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[float, tuple[float, float]] | None:
    """Percentile-bootstrap intervals of several percentiles (`percentile(v, q)` for q in
    `qs`), all from the same resamples; None with fewer than 2 values.

    The same figure as `bootstrap_interval(values, lambda v: percentile(v, q))`, without
    drawing whole resamples: a percentile needs only the two order statistics it
    interpolates between. A resample of n indices is floor(n * U) of n uniforms U, so its
    k-th smallest index is floor(n * U_(k)), and the uniforms' order statistics are drawn
    exactly, one after another: U_(k) ~ Beta(k, n - k + 1) and, given U_(k) = a,
    U_(m) = a + (1 - a) * Beta(m - k, n - m + 1). A few draws per resample, whatever n.
    """
    import numpy as np  # on first use: see the module docstring
    tail = _check_confidence(confidence)
    if n_resamples < 1:
        raise ValueError("n_resamples must be at least 1")
    for q in qs:
        if not 0 <= q <= 100:
            raise ValueError(f"q must be in [0, 100], got {q}")
    if len(values) < 2:
        return None
    resampled = _resampled_percentiles(values, qs, n_resamples, np.random.default_rng(seed))
    out = {}
    for q, estimates in resampled.items():
        lower, upper = np.quantile(estimates, [tail / 100, 1 - tail / 100])
        out[q] = (float(lower), float(upper))
    return out


def _resampled_percentiles(
    values: Sequence[float], qs: Sequence[float], n_resamples: int, rng: np.random.Generator
) -> dict[float, np.ndarray]:
    """q -> `percentile(resample, q)` of each of `n_resamples` bootstrap resamples of `values`
    (the same resamples for every q), drawn as `bootstrap_percentile_intervals` says."""
    import numpy as np  # on first use: see the module docstring
    ordered = np.sort(np.asarray(list(values), dtype=float))
    n = len(ordered)
    # The two 0-based ranks each percentile interpolates between, as in `percentile`.
    spots = {}
    for q in qs:
        position = (n - 1) * q / 100
        lo = math.floor(position)
        spots[q] = (lo, min(lo + 1, n - 1), position - lo)
    at_rank: dict[int, np.ndarray] = {}
    u = np.zeros(n_resamples)
    previous = -1  # 0-based rank of the order statistic drawn last (-1: none yet, U = 0)
    for rank in sorted({r for lo, hi, _ in spots.values() for r in (lo, hi)}):
        u = u + (1 - u) * rng.beta(rank - previous, n - rank, size=n_resamples)
        at_rank[rank] = ordered[np.minimum((u * n).astype(np.int64), n - 1)]
        previous = rank
    return {q: at_rank[lo] + frac * (at_rank[hi] - at_rank[lo]) for q, (lo, hi, frac) in spots.items()}


def win_rates(comparisons: Sequence[Comparison]) -> dict[str, tuple[float, int]]:
    """Return each item's (wins + 0.5 x ties) / games and its number of games."""
    credit: dict[str, float] = {}
    games: dict[str, int] = {}
    for i, j, score in _checked(comparisons):
        credit[i] = credit.get(i, 0.0) + score
        credit[j] = credit.get(j, 0.0) + (1 - score)
        games[i] = games.get(i, 0) + 1
        games[j] = games.get(j, 0) + 1
    return {item: (credit[item] / games[item], games[item]) for item in games}


def _checked(comparisons: Sequence[Comparison]) -> list[Comparison]:
    out = []
    for i, j, score in comparisons:
        if i == j:
            raise ValueError(f"an item cannot be compared with itself: {i!r}")
        if not 0 <= score <= 1:
            raise ValueError(f"score must be 1 (win), 0 (loss) or 0.5 (tie), got {score}")
        out.append((i, j, float(score)))
    return out


def bradley_terry(
    comparisons: Sequence[Comparison],
    *,
    iterations: int = 1000,
    tol: float = 1e-10,
    prior: float = 0.5,
) -> dict[str, float]:
    """Fit Bradley-Terry strengths by MM; return them scaled to a geometric mean of 1.

    P(i beats j) = p_i / (p_i + p_j); a tie counts as half a win for each side. Each item
    also plays `prior` virtual ties against a virtual average item whose strength is the
    geometric mean of all strengths (so 1 after scaling). This keeps unbeaten or winless
    items finite, shrinks sparse items toward 1, and leaves the objective invariant to
    rescaling, so the returned point is an exact stationary point of the penalised
    log-likelihood. Strengths are ratios: 2.0 means twice the odds against the average item.
    """
    checked = _checked(comparisons)
    items = list(dict.fromkeys(name for i, j, _ in checked for name in (i, j)))
    return _fit_bradley_terry(items, checked, iterations=iterations, tol=tol, prior=prior)


def _fit_bradley_terry(
    items: list[str],
    comparisons: list[Comparison],
    *,
    iterations: int,
    tol: float,
    prior: float,
) -> dict[str, float]:
    if prior <= 0:
        raise ValueError("prior must be positive: without it unbeaten items run off to infinity")
    if not items:
        return {}
    index = {item: k for k, item in enumerate(items)}
    size = len(items)
    # Aggregate once into per-pair game counts: the loop then costs O(pairs), not O(games).
    wins = [prior] * size  # the coefficient of log p_i from the virtual games (objective below)
    pair_games: Counter[tuple[int, int]] = Counter()
    for i, j, score in comparisons:
        a, b = index[i], index[j]
        wins[a] += score
        wins[b] += 1 - score
        pair_games[(a, b) if a < b else (b, a)] += 1
    neighbours: list[list[tuple[int, int]]] = [[] for _ in range(size)]
    for (a, b), n in pair_games.items():
        neighbours[a].append((b, n))
        neighbours[b].append((a, n))

    # Penalised log-likelihood, with g the geometric mean of the strengths p:
    #   sum over games of log P(outcome) + prior * sum_i [log p_i - log(p_i + g)]
    # (the second sum is the `prior` half-win/half-loss virtual games, after collecting
    # the log g terms). MM (Hunter 2004): bound -log(x) below by its tangent, and g above
    # by its tangent plane g <= sum_k g / (size * p_k) * p_k'; the resulting minorizer is
    # separable, so each step is p_i <- wins_i / A_i and never lowers the objective.
    strengths = [1.0] * size
    for _ in range(iterations):
        g = _geometric_mean(strengths)
        virtual = sum(1 / (p + g) for p in strengths)
        updated = []
        for a, p in enumerate(strengths):
            denom = sum(n / (p + strengths[b]) for b, n in neighbours[a])
            denom += prior / (p + g) + prior * g / (size * p) * virtual
            updated.append(wins[a] / denom)
        # The update is scale-equivariant, so rescaling every step changes nothing but range.
        scale = _geometric_mean(updated)
        updated = [p / scale for p in updated]
        change = max(abs(new / old - 1) for new, old in zip(updated, strengths, strict=True))
        strengths = updated
        if change < tol:
            break
    return dict(zip(items, strengths, strict=True))


def _geometric_mean(values: Sequence[float]) -> float:
    return math.exp(math.fsum(math.log(v) for v in values) / len(values))


def bradley_terry_bootstrap(
    comparisons: Sequence[Comparison],
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    prior: float = 0.5,
    each: Callable[[int], None] | None = None,
) -> dict[str, tuple[float, float]]:
    """Return a percentile-bootstrap interval of each item's Bradley-Terry strength.
    `each(i)` is called before resample i: a caller's progress or cancel check (an
    exception it raises stops the work; a thousand refits take seconds)."""
    import numpy as np  # on first use: see the module docstring
    tail = _check_confidence(confidence)
    if n_resamples < 1:
        raise ValueError("n_resamples must be at least 1")
    checked = _checked(comparisons)
    items = list(dict.fromkeys(name for i, j, _ in checked for name in (i, j)))
    if not items:
        return {}
    for i in range(n_resamples):  # the refits below run all at once; the caller hears each first
        if each is not None:
            each(i)
    # A resample of the comparisons is a multinomial draw of how often each distinct
    # (item, item, score) comes up: few kinds among many comparisons, so cheap to draw.
    index = {item: k for k, item in enumerate(items)}
    kinds = Counter((index[a], index[b], score) for a, b, score in checked)
    first = np.array([a for a, _, _ in kinds])
    second = np.array([b for _, b, _ in kinds])
    scores = np.array([score for _, _, score in kinds])
    shares = np.array(list(kinds.values()), dtype=float) / len(checked)
    k, size = len(kinds), len(items)
    rng = np.random.default_rng(seed)
    # Resamples are drawn and fitted a block at a time, all of a block at once; a block's
    # draws and its games per pair (resamples × items × items) stay a few MB.
    step = max(1, _DRAWS_PER_BLOCK // max(k, size * size))
    fitted = []
    for start in range(0, n_resamples, step):
        b = min(step, n_resamples - start)
        counts = rng.multinomial(len(checked), shares, size=b).ravel().astype(float)
        row = np.repeat(np.arange(b), k)
        at_first, at_second = row * size + np.tile(first, b), row * size + np.tile(second, b)
        won = np.tile(scores, b)
        wins = prior + (np.bincount(at_first, weights=counts * won, minlength=b * size)
                        + np.bincount(at_second, weights=counts * (1 - won), minlength=b * size)).reshape(b, size)
        games = (np.bincount(at_first * size + np.tile(second, b), weights=counts, minlength=b * size * size)
                 + np.bincount(at_second * size + np.tile(first, b), weights=counts, minlength=b * size * size))
        # Fit every item every time, so the geometric-mean scale means the same thing in each
        # resample; an item drawn no games falls back to its prior, which widens its interval.
        fitted.append(_fit_bradley_terry_many(wins, games.reshape(b, size, size), iterations=1000, tol=1e-10,
                                              prior=prior))
    lower, upper = np.quantile(np.concatenate(fitted), [tail / 100, 1 - tail / 100], axis=0)
    return {item: (float(lower[k]), float(upper[k])) for k, item in enumerate(items)}


def _fit_bradley_terry_many(
    wins: np.ndarray, games: np.ndarray, *, iterations: int, tol: float, prior: float
) -> np.ndarray:
    """`_fit_bradley_terry`'s MM steps on many data sets at once: `wins` (sets × items)
    holds each item's wins plus the prior, `games` (sets × items × items) the games per pair.
    Each set stops where the single fit would: at its first step changing less than `tol`."""
    import numpy as np  # on first use: see the module docstring
    sets, size = wins.shape
    strengths = np.ones((sets, size))
    active = np.ones(sets, dtype=bool)
    for _ in range(iterations):
        p, w, n = strengths[active], wins[active], games[active]
        g = np.exp(np.log(p).mean(axis=1, keepdims=True))
        virtual = (1 / (p + g)).sum(axis=1, keepdims=True)
        denom = (n / (p[:, :, None] + p[:, None, :])).sum(axis=2)
        denom += prior / (p + g) + prior * g / (size * p) * virtual
        updated = w / denom
        updated /= np.exp(np.log(updated).mean(axis=1, keepdims=True))
        change = np.abs(updated / p - 1).max(axis=1)
        strengths[active] = updated
        still = np.flatnonzero(active)[change >= tol]
        active[:] = False
        active[still] = True
        if not active.any():
            break
    return strengths


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Return Cohen's unweighted kappa for two raters' nominal labels of the same items.

    None when there are no items, or when chance agreement is certain (both raters used
    one and the same category throughout): kappa is 0/0 there, not 1.
    """
    if len(a) != len(b):
        raise ValueError(f"raters labelled different numbers of items: {len(a)} and {len(b)}")
    n = len(a)
    if n == 0:
        return None
    agreed = sum(x == y for x, y in zip(a, b, strict=True))
    counts_a, counts_b = Counter(a), Counter(b)
    # Work in integer counts: kappa = (n*agreed - sum ca*cb) / (n^2 - sum ca*cb), exact
    # until the final division, so "expected agreement is 1" is tested without rounding.
    chance = sum(counts_a[c] * counts_b[c] for c in counts_a)
    if chance == n * n:
        return None
    return (n * agreed - chance) / (n * n - chance)


def krippendorff_alpha(units: Sequence[Sequence[Hashable | None]]) -> float | None:
    """Return Krippendorff's alpha for nominal data; None when it is undefined.

    `units` holds one row per rated item with each rater's value (None = not rated).
    Units with fewer than two values are not pairable and are ignored.
    """
    # Coincidence-matrix form: alpha = 1 - (n - 1) * sum_{c!=k} o_ck / sum_{c!=k} n_c n_k,
    # where unit u adds (ordered pairs of its values) / (m_u - 1) to o. Fractions keep it exact.
    observed = Fraction(0)  # sum over c != k of o_ck
    totals: Counter[Hashable] = Counter()  # n_c: pairable values per category
    for counts, times in _alike_units(units).items():
        m = sum(c for _, c in counts)
        disagreeing_pairs = m * m - sum(c * c for _, c in counts)
        observed += Fraction(disagreeing_pairs * times, m - 1)
        for value, c in counts:
            totals[value] += c * times
    n = sum(totals.values())
    expected = n * n - sum(c * c for c in totals.values())  # sum over c != k of n_c n_k
    if n == 0 or expected == 0:
        return None
    return float(1 - (n - 1) * observed / expected)


def _alike_units(units: Sequence[Sequence[H | None]]) -> Counter[tuple[tuple[H, int], ...]]:
    """The pairable units (two values or more) as how many times each multiset of values
    occurs: thousands of doubly rated answers hold a few dozen kinds of unit, and the sums
    over them are exact fractions, so adding a kind once times its count changes nothing."""
    alike: Counter[tuple[tuple[H, int], ...]] = Counter()
    for unit, times in Counter(map(tuple, units)).items():  # the same unit is counted once, as often as it comes
        values = [v for v in unit if v is not None]
        if len(values) >= 2:
            alike[tuple(Counter(values).items())] += times
    return alike


def krippendorff_alpha_ordered(
    units: Sequence[Sequence[float | None]], level: str = "ordinal"
) -> float | None:
    """Return Krippendorff's alpha for an ordered scale ("ordinal" or "interval"); None when undefined.

    `units` as for `krippendorff_alpha`, with numeric values (a 1–5 score). Interval alpha
    weighs a disagreement by the squared difference of the values; ordinal alpha by the
    squared number of pairable values that lie between them (Krippendorff 2011, "Computing
    Krippendorff's alpha-reliability"), so only the order of the values matters.
    """
    if level not in ("ordinal", "interval"):
        raise ValueError(f"level must be 'ordinal' or 'interval', got {level!r}")
    # Coincidences o_ck: unit u adds (ordered pairs (c, k) of its values) / (m_u - 1).
    coincidences: defaultdict[tuple[Fraction, Fraction], Fraction] = defaultdict(Fraction)
    for alike, times in _alike_units(units).items():
        counts: Counter[Fraction] = Counter()
        for value, seen in alike:
            counts[Fraction(value)] += seen
        m = sum(counts.values())
        for c, nc in counts.items():
            for k, nk in counts.items():
                pairs = nc * (nc - 1) if c == k else nc * nk
                coincidences[c, k] += Fraction(pairs * times, m - 1)
    totals: defaultdict[Fraction, Fraction] = defaultdict(Fraction)  # n_c
    for (c, _), o in coincidences.items():
        totals[c] += o
    n = sum(totals.values())
    scale = sorted(totals)
    if level == "interval":
        def delta(c: Fraction, k: Fraction) -> Fraction:
            return (c - k) ** 2
    else:
        below = {}  # values up to and including each point of the scale
        running = Fraction(0)
        for v in scale:
            running += totals[v]
            below[v] = running

        def delta(c: Fraction, k: Fraction) -> Fraction:
            lo, hi = min(c, k), max(c, k)
            between = below[hi] - below[lo] + totals[lo]  # sum of n_g for lo <= g <= hi
            return (between - (totals[c] + totals[k]) / 2) ** 2

    observed = sum((o * delta(c, k) for (c, k), o in coincidences.items()), Fraction(0))
    expected = sum((totals[c] * totals[k] * delta(c, k) for c in scale for k in scale), Fraction(0))
    if n == 0 or expected == 0:
        return None
    return float(1 - (n - 1) * observed / expected)


def sign_test(wins: int, losses: int) -> float:
    """Return the exact two-sided sign-test p-value for wins vs losses (ties excluded)."""
    if wins < 0 or losses < 0:
        raise ValueError("wins and losses cannot be negative")
    n = wins + losses
    if n == 0:
        return 1.0
    # Σ C(n, k) for k ≤ min, each term from the last (C(n, k+1) = C(n, k)·(n−k)/(k+1), exact):
    # math.comb for each k cost O(n) big-integer work apiece, 11 s at 15,000 pairs.
    term = tail = 1
    for k in range(min(wins, losses)):
        term = term * (n - k) // (k + 1)
        tail += term
    # 2 * tail / 2^n in exact integers, so large n neither overflows nor underflows early.
    return min(1.0, tail / (1 << (n - 1)))


def win_rate_interval(points: float, games: int, z: float = Z_95) -> tuple[float, float] | None:
    """Return a 95% Wilson interval for a win rate where a tie scores half a win.

    Wilson's formula applied to points / games (points = wins + ties / 2). A game's score in
    {0, 1/2, 1} has variance at most p(1 - p), the variance of a plain win or loss, so with
    ties the interval errs wide, never narrow. It treats games as independent; None when
    there were no games.
    """
    if games < 0 or not 0 <= points <= games:
        raise ValueError(f"need 0 <= points <= games, got {points} of {games}")
    if games == 0:
        return None
    return wilson_interval(points, games, z)  # type: ignore[arg-type]  # the formula holds for a fractional count


def bootstrap_ratio_interval(
    numerators: Sequence[float],
    denominators: Sequence[float],
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Return a percentile-bootstrap interval for sum(numerators) / sum(denominators).

    The i-th numerator and denominator are resampled together (an attempt's cost and whether
    it succeeded: cost per success). A resample whose denominators sum to 0 has no finite
    ratio: it counts as +infinity rather than being dropped (dropping it would make the
    interval look tighter than the data allow), so the upper bound can be math.inf. None with
    fewer than 2 pairs or when the denominators sum to 0.
    """
    return bootstrap_ratio_intervals([(numerators, denominators)], n_resamples=n_resamples,
                                     confidence=confidence, seed=seed)[0]


def bootstrap_ratio_intervals(
    data: Sequence[tuple[Sequence[float], Sequence[float]]],
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[tuple[float, float] | None]:
    """`bootstrap_ratio_interval` of each (numerators, denominators), exactly. Every one
    starts a generator from `seed`, so data sets of the same length draw the same resampled
    indices: they are drawn once per length and gathered for all of them together (the
    draws are most of the time of a scorecard's cost intervals); desk.core.resampling
    counts them fast, to the same figures."""
    import numpy as np  # on first use: see the module docstring

    from desk.core.resampling import order_statistics_by_length
    tail = _check_confidence(confidence)
    if n_resamples < 1:
        raise ValueError("n_resamples must be at least 1")
    by_length: dict[int, list[int]] = defaultdict(list)
    for k, (numerators, denominators) in enumerate(data):
        if len(numerators) != len(denominators):
            raise ValueError(f"got {len(numerators)} numerators but {len(denominators)} denominators")
        if len(numerators) >= 2 and math.fsum(denominators) != 0:
            by_length[len(numerators)].append(k)
    out: list[tuple[float, float] | None] = [None] * len(data)
    spots = [_percentile_spot(n_resamples, q) for q in (tail, 100 - tail)]
    ranks = sorted({rank for lo, hi, _ in spots for rank in (lo, hi)})
    groups = [[(np.asarray(data[k][0], dtype=float), np.asarray(data[k][1], dtype=float)) for k in members]
              for members in by_length.values()]
    for members, found in zip(by_length.values(), order_statistics_by_length(groups, n_resamples, seed, ranks),
                              strict=True):
        for k, at in zip(members, found, strict=True):
            lower, upper = (_percentile_at(at, spot) for spot in spots)
            out[k] = lower, upper
    return out


def exact_mean(values: Sequence[float]) -> float:
    """`statistics.mean(values)` to the last bit, and in its type (an int when every value
    is one and the mean is whole), without its fraction arithmetic per value: each float is
    an integer times a power of two, so the exact sum is a few integer sums, one per power."""
    import numpy as np  # on first use: see the module docstring
    kinds = set(map(type, values))
    if not values or not kinds <= {int, float}:
        return statistics.mean(values)
    data = np.asarray(values, dtype=float)
    if not np.isfinite(data).all() or (int in kinds and np.abs(data).max() >= 2.0**53):
        return statistics.mean(values)  # not a finite float, or an int no float holds exactly
    fractions, exponents = np.frexp(data)
    mantissas = (fractions * 2.0**53).astype(np.int64)  # exact: a double has 53 bits
    total = Fraction(0)
    for exponent in np.unique(exponents).tolist():
        chosen = mantissas[exponents == exponent]
        high = chosen >> 26  # halves whose sums cannot overflow 64 bits
        whole = int(high.sum()) * (1 << 26) + int((chosen - (high << 26)).sum())
        shift = exponent - 53
        total += whole * (1 << shift) if shift >= 0 else Fraction(whole, 1 << -shift)
    average = total / len(values)
    if float not in kinds and average.denominator == 1:
        return int(average)  # as statistics.mean: an int for ints
    return float(average)


def _percentile_spot(count: int, q: float) -> tuple[int, int, float]:
    """The two ranks (0-based) `percentile` of `count` sorted values interpolates between, and how far."""
    position = (count - 1) * q / 100
    lo = math.floor(position)
    return lo, min(lo + 1, count - 1), position - lo


def _percentile_at(at: Mapping[int, float], spot: tuple[int, int, float]) -> float:
    """`percentile` from the sorted values at its two ranks, which may be +infinity (where
    inf - inf would give nan)."""
    lo, hi, frac = spot
    a, b = at[lo], at[hi]
    if math.isinf(b):
        return b if frac > 0 or math.isinf(a) else a
    return float(a + frac * (b - a))
