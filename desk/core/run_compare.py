"""Run versus run: the same suite's answers in two runs, paired by case × model × sample.

Pure statistics (no store, no Qt): the engine gathers each answer's facts, this module pairs
them and computes, per model:
- each rate (success, constraint violated, asked a needed clarifying question, needless
  refusal, fabricated) in both runs over the pairs where both runs have a verdict, with the
  paired difference (B - A) and an exact McNemar p-value on the discordant pairs;
- TTFT p50/p95, total p95 and cost per successful task in both runs over the pairs where both
  runs have the value, with a percentile-bootstrap interval of the difference (the pairs are
  resampled together, seeded so the same runs give the same interval) and a two-sided paired
  permutation p-value (random halves of the pairs swapped between the runs); a resample is
  kept as how often it drew each pair, never copied, its percentile read off the values
  sorted once (np.percentile's of the copy to the last bit; a cost per success to rounding),
  so 100,000 answers take seconds and tens of MB;
- Holm's correction across those figures of the model: a figure is flagged "worse" or
  "better" only when its corrected p is under alpha;
- what the vendor says it served in each run when that changed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import Any

from desk.core.response import served_label
from desk.core.statistics import percentile, sign_test

ALPHA = 0.05
N_RESAMPLES = 2000
# The rates and their rubric values (the uncertainty criterion's options), and for every
# figure whether a rise is an improvement: that decides "worse" from "better".
UNCERTAINTY_RATES = (("asked_clarifying", "asked_clarifying"), ("needless_refusal", "needless_refusal"),
                     ("fabricated", "confident_wrong"))
HIGHER_IS_BETTER = {"success": True, "constraint_violated": False, "asked_clarifying": True,
                    "needless_refusal": False, "fabricated": False, "ttft_p50": False, "ttft_p95": False,
                    "total_p95": False, "cost_per_success": False}


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar p-value: the discordant pairs (yes in run A only, yes in run
    B only) against a fair coin, as statsmodels' `mcnemar(table, exact=True)` computes it."""
    return sign_test(only_a, only_b)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the given order (as statsmodels'
    `multipletests(p, method="holm")[1]`)."""
    m = len(p_values)
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda i: p_values[i])):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class AnswerFacts:
    """What the comparison needs of one answer: its verdicts (None: nobody judged it) with
    where each came from ("people", "judge" or, for constraints only, "auto"), the
    uncertainty verdict being a rubric option; its TTFT and total time (None for a failed
    answer), its cost (None: unknown) and what the vendor said it served."""

    success: bool | None = None
    violated: bool | None = None
    violated_source: str | None = None
    ttft_ms: float | None = None
    served_model: str | None = None
    system_fingerprint: str | None = None
    uncertainty: str | None = None
    total_ms: float | None = None
    cost_usd: float | None = None
    success_source: str = "people"
    uncertainty_source: str = "people"


def source_label(counts: Sequence[tuple[str, int]]) -> str:
    """The verdict sources of a figure as its table shows them: the one source's name, or
    each source with its number of verdicts when they were mixed ("people 14+judge 6")."""
    if len(counts) == 1:
        return counts[0][0]
    return "+".join(f"{name} {n}" for name, n in counts)


def count_sources(sources: Iterable[str | None]) -> tuple[tuple[str, int], ...]:
    """(source, verdicts) for each source named, by name."""
    counts: dict[str, int] = defaultdict(int)
    for s in sources:
        if s:
            counts[s] += 1
    return tuple(sorted(counts.items()))


def _finite(v: float | None) -> float | None:
    return v if v is None or math.isfinite(v) else None


@dataclass(frozen=True)
class RateFigure:
    """One rate over the pairs where both runs have a verdict: the rates, run B minus run A,
    the discordant counts, McNemar's exact p (and Holm's), which verdict sources were used,
    and the flag ("worse", "better" or None)."""

    name: str
    n: int
    rate_a: float | None
    rate_b: float | None
    diff: float | None
    only_a: int
    only_b: int
    p_value: float
    source_counts: tuple[tuple[str, int], ...]  # (source, verdicts of both runs' answers it gave)
    p_holm: float | None = None
    flag: str | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.source_counts)

    @property
    def source_label(self) -> str:
        return source_label(self.source_counts)

    def as_json(self) -> dict[str, Any]:
        return {"figure": self.name, "n": self.n, "rate_a": self.rate_a, "rate_b": self.rate_b,
                "diff": self.diff, "only_a": self.only_a, "only_b": self.only_b,
                "p_value": self.p_value, "p_holm": self.p_holm, "flag": self.flag,
                "sources": list(self.sources), "source_verdicts": dict(self.source_counts)}


@dataclass(frozen=True)
class MeasureFigure:
    """A latency (ms) or cost per successful task (USD) over the pairs where both runs have
    the value: both values, B - A with its bootstrap interval, the paired permutation p (and Holm's)
    and the flag. A cost with no success in a run is None (unbounded); an interval bound may
    be infinite for the same reason (null in JSON)."""

    name: str
    unit: str
    n: int
    value_a: float | None
    value_b: float | None
    diff: float | None
    interval: tuple[float, float] | None
    p_value: float
    p_holm: float | None = None
    flag: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"figure": self.name, "unit": self.unit, "n": self.n, "value_a": self.value_a,
                "value_b": self.value_b, "diff": self.diff,
                "interval": None if self.interval is None else [_finite(x) for x in self.interval],
                "p_value": self.p_value, "p_holm": self.p_holm, "flag": self.flag}


@dataclass(frozen=True)
class ModelComparison:
    model: str
    pairs: int  # case × sample units answered in both runs
    rates: tuple[RateFigure, ...]
    ttft_p50: tuple[float | None, float | None]
    ttft_p95: tuple[float | None, float | None]
    served_a: tuple[str, ...]
    served_b: tuple[str, ...]
    measures: tuple[MeasureFigure, ...] = ()

    @property
    def served_changed(self) -> str | None:
        """"A → B" naming what each run was served, when the two differ; else None."""
        if self.served_a == self.served_b:
            return None
        return f"{', '.join(self.served_a) or 'not said'} → {', '.join(self.served_b) or 'not said'}"

    @property
    def flagged(self) -> list[RateFigure | MeasureFigure]:
        figures: list[RateFigure | MeasureFigure] = [*self.rates, *self.measures]
        return [f for f in figures if f.flag]

    def as_json(self) -> dict[str, Any]:
        return {"model": self.model, "pairs": self.pairs, "rates": [r.as_json() for r in self.rates],
                "measures": [x.as_json() for x in self.measures],
                "worse": [f.name for f in self.flagged if f.flag == "worse"],
                "better": [f.name for f in self.flagged if f.flag == "better"],
                "ttft_p50_ms": list(self.ttft_p50), "ttft_p95_ms": list(self.ttft_p95),
                "served_a": list(self.served_a), "served_b": list(self.served_b),
                "served_changed": self.served_changed}


@dataclass(frozen=True)
class RunComparison:
    run_a: str
    run_b: str
    models: tuple[ModelComparison, ...]
    left_out: int = 0  # answers of a case, model or sample only one run has
    warnings: tuple[str, ...] = field(default_factory=tuple)
    alpha: float = ALPHA
    confidence: float = 1 - ALPHA  # of the bootstrap intervals

    def as_json(self) -> dict[str, Any]:
        return {"run_a": self.run_a, "run_b": self.run_b, "alpha": self.alpha,
                "confidence": self.confidence, "left_out": self.left_out,
                "models": [m.as_json() for m in self.models], "warnings": list(self.warnings)}


Verdict = tuple[bool | None, str | None]  # one answer's verdict on a rate, and its source


def _rate(name: str, pairs: Iterable[tuple[Verdict, Verdict]]) -> RateFigure:
    n = only_a = only_b = yes_a = yes_b = 0
    sources: list[str | None] = []
    for (a, source_a), (b, source_b) in pairs:  # one pass: a run has 100,000 answers
        if a is None or b is None:
            continue
        n += 1
        yes_a += bool(a)
        yes_b += bool(b)
        only_a += bool(a and not b)
        only_b += bool(b and not a)
        sources += (source_a, source_b)
    rate_a = yes_a / n if n else None
    rate_b = yes_b / n if n else None
    diff = rate_b - rate_a if rate_a is not None and rate_b is not None else None
    return RateFigure(name, n, rate_a, rate_b, diff, only_a, only_b, mcnemar_exact(only_a, only_b),
                      count_sources(sources))


def _is(value: str | None, option: str) -> bool | None:
    return None if value is None else value == option


def _uncertainty_verdict(option: str) -> Callable[[AnswerFacts], Verdict]:
    return lambda f: (_is(f.uncertainty, option), f.uncertainty_source)


# Each rate, and its verdict on one answer with where it came from.
_VERDICTS: tuple[tuple[str, Callable[[AnswerFacts], Verdict]], ...] = (
    ("success", attrgetter("success", "success_source")),
    ("constraint_violated", attrgetter("violated", "violated_source")),
    *((name, _uncertainty_verdict(option)) for name, option in UNCERTAINTY_RATES))


def rate_verdicts(f: AnswerFacts) -> dict[str, Verdict]:
    """Each rate's verdict on one answer, with where it came from."""
    return {name: verdict(f) for name, verdict in _VERDICTS}


def _rates(pairs: Sequence[tuple[AnswerFacts, AnswerFacts]]) -> list[RateFigure]:
    return [_rate(name, ((verdict(a), verdict(b)) for a, b in pairs)) for name, verdict in _VERDICTS]


def _cost_per_success_rows(values: Any) -> Any:
    """Cost per success of (cost, success) rows stacked on the last axis, per row of pairs."""
    return _per_success(values[..., 0].sum(axis=-1), values[..., 1].sum(axis=-1))


def _per_success(cost: Any, wins: Any) -> Any:
    import numpy as np
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(wins > 0, cost / np.where(wins > 0, wins, 1), math.inf)


class _Paired:
    """A measure's values over its pairs, in run A and run B, and the figures taken of them:
    (name, q) percentiles of a time, or ("cost_per_success", None) of (cost, success) rows.
    Resampled statistics are read off the values sorted once (see `_resampled`)."""

    def __init__(self, unit: str, a: Any, b: Any, figures: tuple[tuple[str, float | None], ...]) -> None:
        import numpy as np
        self.unit, self.a, self.b, self.figures = unit, a, b, figures
        self.cost = figures[0][1] is None
        if self.cost:  # (cost, success) as two rows, each contiguous
            self.columns_a, self.columns_b = np.ascontiguousarray(a.T), np.ascontiguousarray(b.T)
        else:
            self.order_a, self.order_b = np.argsort(a, kind="stable"), np.argsort(b, kind="stable")
            self.sorted_a, self.sorted_b = a[self.order_a], b[self.order_b]
            both = np.concatenate([a, b])
            order = np.argsort(both, kind="stable")  # both runs' values together, for the permutations
            self.sorted_both, self.pair_of = both[order], order % len(a)
            self.from_a = (order < len(a)).astype(np.uint8)

    def observed(self, q: float | None, values: Any) -> float:
        import numpy as np
        return float(_cost_per_success_rows(values[None])[0] if q is None else np.percentile(values, q))


def _spot(n: int, q: float) -> tuple[int, int, float]:
    """The two 0-based ranks np.percentile(values, q) of n values interpolates between and
    its weight, computed as numpy's "linear" method does: position (n - 1) * (q / 100); at
    or past the last rank numpy takes the last value twice, weighted position + 1."""
    position = (n - 1) * (q / 100)
    if position >= n - 1:
        return n - 1, n - 1, position + 1
    lo = math.floor(position)
    return lo, lo + 1, position - lo


def _lerp(lo: Any, hi: Any, t: float) -> Any:
    """numpy's own interpolation (numpy/lib `_lerp`: from the upper value when t >= 0.5),
    so that a resample's percentile is np.percentile's to the last bit."""
    step = hi - lo
    return hi - step * (1 - t) if t >= 0.5 else lo + step * t


def _percentiles(ordered: Any, cum: Any, count: int, qs: Sequence[float]) -> list[Any]:
    """Each q's percentile of each row of a block of resamples of `count` values, given
    `ordered` (the values that can be drawn, sorted) and `cum`, the block's running count of
    how often each was drawn, row after row flattened: row r's k-th smallest (0-based) is
    where its count first passes k, i.e. where `cum` first passes r * count + k."""
    import numpy as np
    width = len(ordered)
    rows = np.arange(len(cum) // width, dtype=cum.dtype)

    def ranked(k: int) -> Any:  # keys of cum's own dtype: else searchsorted converts cum first
        return ordered[np.searchsorted(cum, rows * count + k, side="right") - rows * width]

    out = []
    for q in qs:
        lo, hi, t = _spot(count, q)
        out.append(_lerp(ranked(lo), ranked(hi), t))
    return out


def _bootstrap_counts(rng: Any, n: int, size: int) -> Any:
    """`size` bootstrap resamples of n pairs, each as how often it drew each pair (size × n,
    int32: half the memory to move of int64, and a block's running counts fit)."""
    import numpy as np
    drawn = rng.integers(0, n, size=(size, n), dtype=np.uint32).astype(np.intp)  # 32-bit draws: ~8x faster
    drawn += (np.arange(size, dtype=np.intp) * n)[:, None]
    return np.bincount(drawn.ravel(), minlength=size * n).reshape(size, n).astype(np.int32)


def _running(counts: Any, order: Any) -> Any:
    """The running count of a block's rows taken in `order`, row after row flattened (int32)."""
    import numpy as np
    return np.take(counts, order, axis=1).ravel().cumsum(dtype=np.int32)  # take: contiguous, so ravel copies nothing


def _resampled(s: _Paired, counts: Any) -> dict[str, tuple[Any, Any]]:
    """Each figure's statistic in run A and in run B on each resample (a row of `counts`, the
    pairs drawn together): a percentile from where the counts in sorted order pass its ranks,
    a cost per success from the counts times the values. No resample is copied."""
    if s.cost:
        weights = counts.astype(float)
        ((name, _),) = s.figures
        return {name: (_per_success(*_sums(weights, s.columns_a)), _per_success(*_sums(weights, s.columns_b)))}
    n, qs = len(s.a), [q for _, q in s.figures if q is not None]
    stats_a = _percentiles(s.sorted_a, _running(counts, s.order_a), n, qs)
    stats_b = _percentiles(s.sorted_b, _running(counts, s.order_b), n, qs)
    return {name: (x, y) for (name, _), x, y in zip(s.figures, stats_a, stats_b, strict=True)}


def _sums(weights: Any, columns: Any) -> Any:
    """Each row of weights (size × n) times the values' cost column and success column: (2 ×
    size). einsum, not a matrix product: BLAS's threads, on a busy machine of two cores, took
    20 times as long as one thread and burned the other core."""
    import numpy as np
    return np.einsum("ij,kj->ki", weights, columns)


def _swaps(rng: Any, n: int, size: int) -> Any:
    """size × n fair coin flips (0/1 as uint8), eight from each random byte."""
    import numpy as np
    return np.unpackbits(rng.integers(0, 256, size=(size, (n + 7) // 8), dtype=np.uint8), axis=1, count=n)


def _permuted(s: _Paired, swap: Any) -> dict[str, tuple[Any, Any]]:
    """Each figure's statistic on the two runs with the pairs marked in `swap` (size × n)
    swapped: X takes run B's value of a pair where it swaps, else run A's; Y the rest. X's
    running count over both runs' values sorted is that of swap XOR "from A"; Y's the
    complement's."""
    if s.cost:
        weights = swap.astype(float)
        in_a, in_b = _sums(weights, s.columns_a), _sums(weights, s.columns_b)  # the swapped pairs' sums
        total_a, total_b = s.a.sum(axis=0), s.b.sum(axis=0)
        ((name, _),) = s.figures
        return {name: (_per_success(in_b[0] + (total_a[0] - in_a[0]), in_b[1] + (total_a[1] - in_a[1])),
                       _per_success(in_a[0] + (total_b[0] - in_b[0]), in_a[1] + (total_b[1] - in_b[1])))}
    import numpy as np
    n, qs = len(s.a), [q for _, q in s.figures if q is not None]
    member = np.take(swap, s.pair_of, axis=1)
    member ^= s.from_a
    stats_x = _percentiles(s.sorted_both, member.ravel().cumsum(dtype=np.int32), n, qs)
    member ^= 1
    stats_y = _percentiles(s.sorted_both, member.ravel().cumsum(dtype=np.int32), n, qs)
    return {name: (x, y) for (name, _), x, y in zip(s.figures, stats_x, stats_y, strict=True)}


# Resamples are computed this many (resample × pair) cells at a time: memory stays a few tens
# of MB whatever the number of pairs.
_CELLS_PER_BLOCK = 1 << 20


def _blocks(n: int, n_resamples: int) -> list[int]:
    per = max(1, _CELLS_PER_BLOCK // n)
    return [min(per, n_resamples - start) for start in range(0, n_resamples, per)]


def _measure_group(group: Sequence[_Paired], n: int, *, confidence: float, seed: int,
                   n_resamples: int) -> dict[str, MeasureFigure]:
    """The figures of measures over the same number n of pairs, from the same resamples: both
    runs' statistic, B - A, a percentile-bootstrap interval of B - A resampling the pairs
    together, and a paired permutation p-value (see `_permutation_p`). A resample where both
    runs' statistic is infinite has no difference and is dropped; one infinite side gives an
    infinite difference, kept."""
    import numpy as np
    if n == 0:
        return {name: MeasureFigure(name, s.unit, 0, None, None, None, None, 1.0) for s in group for name, _ in s.figures}
    observed = {name: (s.observed(q, s.a), s.observed(q, s.b)) for s in group for name, q in s.figures}
    rng = np.random.default_rng(seed)
    boot: dict[str, list[Any]] = defaultdict(list)
    for size in _blocks(n, n_resamples) if n >= 2 else ():
        counts = _bootstrap_counts(rng, n, size)
        for s in group:
            for name, (stat_a, stat_b) in _resampled(s, counts).items():
                with np.errstate(invalid="ignore"):
                    boot[name].append(stat_b - stat_a)
    diffs = {name: np.sort(d[~np.isnan(d)]) for name, d in ((k, np.concatenate(v)) for k, v in boot.items())}
    tested = {name for name, d in diffs.items() if len(d) and not math.isnan(observed[name][1] - observed[name][0])}
    p_values = _permutation_p([s for s in group if any(name in tested for name, _ in s.figures)],
                              {name: observed[name][1] - observed[name][0] for name in tested}, rng, n_resamples)
    out = {}
    tail = (1 - confidence) / 2
    for s in group:
        for name, _ in s.figures:
            value_a, value_b = observed[name]
            diff = value_b - value_a if math.isfinite(value_a) and math.isfinite(value_b) else None
            interval = None
            if name in diffs and len(diffs[name]):
                interval = (float(np.quantile(diffs[name], tail, method="inverted_cdf")),
                            float(np.quantile(diffs[name], 1 - tail, method="inverted_cdf")))
            out[name] = MeasureFigure(name, s.unit, n, _finite(value_a), _finite(value_b), diff, interval,
                                      p_values.get(name, 1.0))
    return out


def _permutation_p(group: Sequence[_Paired], observed: dict[str, float], rng: Any,
                   n_resamples: int) -> dict[str, float]:
    """Two-sided paired permutation p-values of B - A: with no change between the runs, each
    pair's two answers could as well have come the other way round, so every resample swaps
    a random half of the pairs and p is the share of resampled |B - A| at least the observed
    one (counting the observed). Valid at any n and for any statistic, which the bootstrap's
    own p is not: with a dozen pairs it flags the p95 of unchanged runs one time in six.
    Measures over the same pairs see the same swaps."""
    import numpy as np
    if not group:
        return {}
    n = len(group[0].a)
    extreme: dict[str, int] = defaultdict(int)
    for size in _blocks(2 * n, n_resamples):
        swap = _swaps(rng, n, size)
        for s in group:
            for name, (x, y) in _permuted(s, swap).items():
                if name in observed:
                    bar = abs(observed[name]) - 1e-9 * max(1.0, abs(observed[name]))
                    with np.errstate(invalid="ignore"):
                        extreme[name] += int(np.sum(np.abs(x - y) >= bar))
    return {name: min(1.0, (extreme[name] + 1) / (n_resamples + 1)) for name in observed}


def _measures(pairs: Sequence[tuple[AnswerFacts, AnswerFacts]], *, confidence: float, seed: int,
              n_resamples: int) -> list[MeasureFigure]:
    import numpy as np
    samples = []
    timed: tuple[tuple[str, tuple[tuple[str, float | None], ...]], ...] = (
        ("ttft_ms", (("ttft_p50", 50), ("ttft_p95", 95))), ("total_ms", (("total_p95", 95),)))
    for attr, figures in timed:
        both = [(getattr(x, attr), getattr(y, attr)) for x, y in pairs
                if getattr(x, attr) is not None and getattr(y, attr) is not None]
        samples.append(_Paired("ms", np.array([x for x, _ in both], dtype=float),
                               np.array([y for _, y in both], dtype=float), figures))
    costed = [(x, y) for x, y in pairs if x.success is not None and y.success is not None
              and x.cost_usd is not None and y.cost_usd is not None]
    samples.append(_Paired("usd", np.array([(x.cost_usd, float(bool(x.success))) for x, _ in costed],
                                           dtype=float).reshape(-1, 2),
                           np.array([(y.cost_usd, float(bool(y.success))) for _, y in costed],
                                    dtype=float).reshape(-1, 2), (("cost_per_success", None),)))
    out: dict[str, MeasureFigure] = {}
    for n in sorted({len(s.a) for s in samples}):
        group = [s for s in samples if len(s.a) == n]
        out.update(_measure_group(group, n, confidence=confidence, seed=seed, n_resamples=n_resamples))
    return [out[name] for s in samples for name, _ in s.figures]


def _flagged(figures: Sequence[RateFigure | MeasureFigure], alpha: float) -> list[Any]:
    """Holm across the figures that have a difference to test; flag those under alpha."""
    tested = [i for i, f in enumerate(figures) if f.diff is not None or getattr(f, "interval", None)]
    adjusted = dict(zip(tested, holm([figures[i].p_value for i in tested]), strict=True))
    out = []
    for i, f in enumerate(figures):
        p_holm = adjusted.get(i)
        flag = None
        if p_holm is not None and p_holm < alpha:
            rise = f.diff if f.diff is not None else _unbounded_rise(f)
            if rise:
                flag = "better" if (rise > 0) == HIGHER_IS_BETTER[f.name] else "worse"
        out.append(replace(f, p_holm=p_holm, flag=flag))
    return out


def _unbounded_rise(f: RateFigure | MeasureFigure) -> float:
    """The direction of a cost per success that one run has no finite value for (no success):
    that run's cost is the infinite one."""
    if isinstance(f, MeasureFigure) and (f.value_a is None) != (f.value_b is None):
        return math.inf if f.value_b is None else -math.inf
    return 0.0


def compare_runs(
    run_a: str,
    run_b: str,
    answers_a: dict[tuple[Hashable, str], AnswerFacts],
    answers_b: dict[tuple[Hashable, str], AnswerFacts],
    *,
    alpha: float = ALPHA,
    seed: int = 0,
    n_resamples: int = N_RESAMPLES,
) -> RunComparison:
    """Pair the answers of two runs keyed by (unit, model), a unit being (case, sample):
    only keys both runs answered are compared; the rest are counted as left out. Bootstrap
    intervals are at 1 - alpha confidence."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    shared = answers_a.keys() & answers_b.keys()
    by_model: dict[str, list[tuple[AnswerFacts, AnswerFacts]]] = defaultdict(list)
    for key in sorted(shared, key=repr):
        by_model[key[1]].append((answers_a[key], answers_b[key]))
    models = []
    for model in sorted(by_model):
        pairs = by_model[model]
        figures = _flagged([*_rates(pairs), *_measures(pairs, confidence=1 - alpha, seed=seed,
                                                       n_resamples=n_resamples)], alpha)
        rates = tuple(f for f in figures if isinstance(f, RateFigure))
        measures = tuple(f for f in figures if isinstance(f, MeasureFigure))
        ttft_a = [a.ttft_ms for a, _ in pairs if a.ttft_ms is not None]
        ttft_b = [b.ttft_ms for _, b in pairs if b.ttft_ms is not None]
        models.append(ModelComparison(
            model, len(pairs), rates,
            (percentile(ttft_a, 50), percentile(ttft_b, 50)),
            (percentile(ttft_a, 95), percentile(ttft_b, 95)),
            _served(a for a, _ in pairs), _served(b for _, b in pairs), measures,
        ))
    left_out = len(answers_a.keys() ^ answers_b.keys())
    warnings = (f"{left_out} answer(s) only one run has were left out",) if left_out else ()
    return RunComparison(run_a, run_b, tuple(models), left_out, warnings, alpha, 1 - alpha)


def _served(answers: Iterable[AnswerFacts]) -> tuple[str, ...]:
    return tuple(sorted({label for a in answers if (label := served_label(a.served_model, a.system_fingerprint)) is not None}))
