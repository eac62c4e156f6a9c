"""Run versus run: the same suite's answers in two runs, paired by case × model × sample.

Pure statistics (no store, no Qt): the engine gathers each answer's facts, this module pairs
them and computes, per model, each rate in both runs with the paired difference and an exact
McNemar p-value on the discordant pairs, TTFT percentiles of both runs, and what the vendor
says it served in each run when that changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from desk.core.response import served_label
from desk.core.statistics import percentile, sign_test


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar p-value: the discordant pairs (yes in run A only, yes in run
    B only) against a fair coin, as statsmodels' `mcnemar(table, exact=True)` computes it."""
    return sign_test(only_a, only_b)


@dataclass(frozen=True)
class AnswerFacts:
    """What the comparison needs of one answer: its verdicts (None: nobody judged it) with
    where each came from ("people" or "auto"), its TTFT and what the vendor said it served."""

    success: bool | None = None
    violated: bool | None = None
    violated_source: str | None = None
    ttft_ms: float | None = None
    served_model: str | None = None
    system_fingerprint: str | None = None


@dataclass(frozen=True)
class RateFigure:
    """One rate over the pairs where both runs have a verdict: the rates, run B minus run A,
    the discordant counts, McNemar's exact p and which verdict sources were used."""

    name: str
    n: int
    rate_a: float | None
    rate_b: float | None
    diff: float | None
    only_a: int
    only_b: int
    p_value: float
    sources: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"figure": self.name, "n": self.n, "rate_a": self.rate_a, "rate_b": self.rate_b,
                "diff": self.diff, "only_a": self.only_a, "only_b": self.only_b,
                "p_value": self.p_value, "sources": list(self.sources)}


@dataclass(frozen=True)
class ModelComparison:
    model: str
    pairs: int  # case × sample units answered in both runs
    rates: tuple[RateFigure, ...]
    ttft_p50: tuple[float | None, float | None]
    ttft_p95: tuple[float | None, float | None]
    served_a: tuple[str, ...]
    served_b: tuple[str, ...]

    @property
    def served_changed(self) -> str | None:
        """"A → B" naming what each run was served, when the two differ; else None."""
        if self.served_a == self.served_b:
            return None
        return f"{', '.join(self.served_a) or 'not said'} → {', '.join(self.served_b) or 'not said'}"

    def as_json(self) -> dict[str, Any]:
        return {"model": self.model, "pairs": self.pairs, "rates": [r.as_json() for r in self.rates],
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

    def as_json(self) -> dict[str, Any]:
        return {"run_a": self.run_a, "run_b": self.run_b, "left_out": self.left_out,
                "models": [m.as_json() for m in self.models], "warnings": list(self.warnings)}


def _rate(name: str, pairs: Sequence[tuple[bool | None, bool | None]], sources: Iterable[str | None]) -> RateFigure:
    both = [(a, b) for a, b in pairs if a is not None and b is not None]
    n = len(both)
    only_a = sum(1 for a, b in both if a and not b)
    only_b = sum(1 for a, b in both if b and not a)
    rate_a = sum(a for a, _ in both) / n if n else None
    rate_b = sum(b for _, b in both) / n if n else None
    diff = rate_b - rate_a if rate_a is not None and rate_b is not None else None
    return RateFigure(name, n, rate_a, rate_b, diff, only_a, only_b, mcnemar_exact(only_a, only_b),
                      tuple(sorted({s for s in sources if s})))


def compare_runs(
    run_a: str,
    run_b: str,
    answers_a: dict[tuple[Hashable, str], AnswerFacts],
    answers_b: dict[tuple[Hashable, str], AnswerFacts],
) -> RunComparison:
    """Pair the answers of two runs keyed by (unit, model), a unit being (case, sample):
    only keys both runs answered are compared; the rest are counted as left out."""
    shared = answers_a.keys() & answers_b.keys()
    by_model: dict[str, list[tuple[AnswerFacts, AnswerFacts]]] = defaultdict(list)
    for key in sorted(shared, key=repr):
        by_model[key[1]].append((answers_a[key], answers_b[key]))
    models = []
    for model in sorted(by_model):
        pairs = by_model[model]
        success = _rate("success", [(a.success, b.success) for a, b in pairs],
                        ["people" for a, b in pairs if a.success is not None and b.success is not None])
        violated = _rate("constraint_violated", [(a.violated, b.violated) for a, b in pairs],
                         [s for a, b in pairs if a.violated is not None and b.violated is not None
                          for s in (a.violated_source, b.violated_source)])
        ttft_a = [a.ttft_ms for a, _ in pairs if a.ttft_ms is not None]
        ttft_b = [b.ttft_ms for _, b in pairs if b.ttft_ms is not None]
        models.append(ModelComparison(
            model, len(pairs), (success, violated),
            (percentile(ttft_a, 50), percentile(ttft_b, 50)),
            (percentile(ttft_a, 95), percentile(ttft_b, 95)),
            _served(a for a, _ in pairs), _served(b for _, b in pairs),
        ))
    left_out = len(answers_a.keys() ^ answers_b.keys())
    warnings = (f"{left_out} answer(s) only one run has were left out",) if left_out else ()
    return RunComparison(run_a, run_b, tuple(models), left_out, warnings)


def _served(answers: Iterable[AnswerFacts]) -> tuple[str, ...]:
    return tuple(sorted({label for a in answers if (label := served_label(a.served_model, a.system_fingerprint)) is not None}))
