"""Run versus run: the same suite's answers in two runs, paired by case × model × sample.

Pure statistics (no store, no Qt): the engine gathers each answer's facts, this module pairs
them and computes, per model:
- each rate (success, constraint violated, asked a needed clarifying question, needless
  refusal, fabricated) in both runs over the pairs where both runs have a verdict, with the
  paired difference (B - A) and an exact McNemar p-value on the discordant pairs;
- TTFT p50/p95, total p95 and cost per successful task in both runs over the pairs where both
  runs have the value, with a percentile-bootstrap interval of the difference (the pairs are
  resampled together, seeded so the same runs give the same interval) and a two-sided paired
  permutation p-value (random halves of the pairs swapped between the runs);
- Holm's correction across those figures of the model: a figure is flagged "worse" or
  "better" only when its corrected p is under alpha;
- what the vendor says it served in each run when that changed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
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


def _rate(name: str, pairs: Sequence[tuple[Verdict, Verdict]]) -> RateFigure:
    both = [(a, b) for a, b in pairs if a[0] is not None and b[0] is not None]
    n = len(both)
    only_a = sum(1 for (a, _), (b, _) in both if a and not b)
    only_b = sum(1 for (a, _), (b, _) in both if b and not a)
    rate_a = sum(bool(a) for (a, _), _ in both) / n if n else None
    rate_b = sum(bool(b) for _, (b, _) in both) / n if n else None
    diff = rate_b - rate_a if rate_a is not None and rate_b is not None else None
    return RateFigure(name, n, rate_a, rate_b, diff, only_a, only_b, mcnemar_exact(only_a, only_b),
                      count_sources(s for a, b in both for _, s in (a, b)))


def _is(value: str | None, option: str) -> bool | None:
    return None if value is None else value == option


def rate_verdicts(f: AnswerFacts) -> dict[str, Verdict]:
    """Each rate's verdict on one answer, with where it came from."""
    return {"success": (f.success, f.success_source),
            "constraint_violated": (f.violated, f.violated_source),
            **{name: (_is(f.uncertainty, option), f.uncertainty_source) for name, option in UNCERTAINTY_RATES}}


def _rates(pairs: Sequence[tuple[AnswerFacts, AnswerFacts]]) -> list[RateFigure]:
    verdicts = [(rate_verdicts(a), rate_verdicts(b)) for a, b in pairs]
    names = ("success", "constraint_violated", *(name for name, _ in UNCERTAINTY_RATES))
    return [_rate(name, [(a[name], b[name]) for a, b in verdicts]) for name in names]


# A measure's statistic on an (resamples × pairs) array of one run's values (rows may be
# 1 for the observed data); cost per success takes (cost, success) stacked on the last axis.
def _percentile_rows(q: float) -> Callable[[Any], Any]:
    def stat(values: Any) -> Any:
        import numpy as np
        return np.percentile(values, q, axis=-1)  # numpy's "linear", as desk.core.statistics.percentile
    return stat


def _cost_per_success_rows(values: Any) -> Any:
    import numpy as np
    cost, wins = values[..., 0].sum(axis=-1), values[..., 1].sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(wins > 0, cost / np.where(wins > 0, wins, 1), math.inf)


def _measure(name: str, unit: str, a: Sequence[Any], b: Sequence[Any], stat: Callable[[Any], Any],
             *, confidence: float, seed: int, n_resamples: int) -> MeasureFigure:
    """Both runs' `stat`, B - A, a percentile-bootstrap interval of B - A resampling the
    pairs together, and a paired permutation p-value. A resample where both runs' statistic
    is infinite has no difference and is dropped; one infinite side gives an infinite
    difference, kept."""
    import numpy as np
    n = len(a)
    if n == 0:
        return MeasureFigure(name, unit, 0, None, None, None, None, 1.0)
    va, vb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    value_a, value_b = float(stat(va[None])[0]), float(stat(vb[None])[0])
    diff = value_b - value_a if math.isfinite(value_a) and math.isfinite(value_b) else None
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, n, size=(n_resamples, n))
    with np.errstate(invalid="ignore"):
        diffs = stat(vb[rows]) - stat(va[rows])
    diffs = np.sort(diffs[~np.isnan(diffs)])
    interval, p = None, 1.0
    if n >= 2 and len(diffs):
        tail = (1 - confidence) / 2
        interval = (float(np.quantile(diffs, tail, method="inverted_cdf")),
                    float(np.quantile(diffs, 1 - tail, method="inverted_cdf")))
        p = _permutation_p(va, vb, value_b - value_a, stat, rng, n_resamples)
    return MeasureFigure(name, unit, n, _finite(value_a), _finite(value_b), diff, interval, p)


def _permutation_p(va: Any, vb: Any, observed: float, stat: Callable[[Any], Any], rng: Any,
                   n_resamples: int) -> float:
    """Two-sided paired permutation p-value of B - A: with no change between the runs, each
    pair's two answers could as well have come the other way round, so every resample swaps
    a random half of the pairs and p is the share of resampled |B - A| at least the observed
    one (counting the observed). Valid at any n and for any statistic, which the bootstrap's
    own p is not: with a dozen pairs it flags the p95 of unchanged runs one time in six."""
    import numpy as np
    if math.isnan(observed):  # both runs' cost per success unbounded: no difference to test
        return 1.0
    swap = rng.random((n_resamples, len(va))) < 0.5
    if va.ndim == 2:  # (cost, success) pairs swap together
        swap = swap[..., None]
    with np.errstate(invalid="ignore"):
        perm = stat(np.where(swap, vb, va)) - stat(np.where(swap, va, vb))
    extreme = int(np.sum(np.abs(perm) >= abs(observed) - 1e-9 * max(1.0, abs(observed))))
    return min(1.0, (extreme + 1) / (n_resamples + 1))


def _measures(pairs: Sequence[tuple[AnswerFacts, AnswerFacts]], *, confidence: float, seed: int,
              n_resamples: int) -> list[MeasureFigure]:
    kw: dict[str, Any] = {"confidence": confidence, "seed": seed, "n_resamples": n_resamples}
    out = []
    for name, attr, q in (("ttft_p50", "ttft_ms", 50), ("ttft_p95", "ttft_ms", 95), ("total_p95", "total_ms", 95)):
        both = [(getattr(x, attr), getattr(y, attr)) for x, y in pairs
                if getattr(x, attr) is not None and getattr(y, attr) is not None]
        out.append(_measure(name, "ms", [x for x, _ in both], [y for _, y in both], _percentile_rows(q), **kw))
    costed = [(x, y) for x, y in pairs if x.success is not None and y.success is not None
              and x.cost_usd is not None and y.cost_usd is not None]
    out.append(_measure("cost_per_success", "usd",
                        [(x.cost_usd, float(bool(x.success))) for x, _ in costed],
                        [(y.cost_usd, float(bool(y.success))) for _, y in costed], _cost_per_success_rows, **kw))
    return out


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
