"""A suite's history: each run's figures, per model, with intervals, oldest run first.

Pure statistics (no store, no Qt): the engine gathers each run's answer facts (the same
AnswerFacts as run versus run), this module computes per run and model:
- the rates (success, constraint violated, asked a needed clarifying question, needless
  refusal, fabricated) over the answers with a verdict, with a 95% Wilson interval and the
  verdicts' sources;
- TTFT p50/p95 and total p95 of the answers that did not fail, with percentile-bootstrap
  intervals, and the cost per successful task with a paired bootstrap interval (its upper
  bound infinite when a resample has no success);
- what the vendor said it served, and where that differs from the model's previous run
  that said anything (the marker on the timeline).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from desk.core.response import served_label
from desk.core.run_compare import UNCERTAINTY_RATES, AnswerFacts, rate_verdicts
from desk.core.statistics import (
    bootstrap_percentile_intervals,
    bootstrap_ratio_interval,
    bootstrap_ratio_intervals,
    percentile,
    wilson_interval,
)

RATE_FIGURES = ("success", "constraint_violated", *(name for name, _ in UNCERTAINTY_RATES))
MEASURE_FIGURES = ("ttft_p50", "ttft_p95", "total_p95", "cost_per_success")
FIGURES = RATE_FIGURES + MEASURE_FIGURES


@dataclass(frozen=True)
class HistoryFigure:
    """One figure of one run and model: its value (None: nothing to compute it from), n
    answers it is over, its interval and, for a rate, where the verdicts came from."""

    name: str
    unit: str  # "rate" | "ms" | "usd"
    n: int
    value: float | None
    interval: tuple[float, float] | None
    sources: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        interval = None if self.interval is None else [x if math.isfinite(x) else None for x in self.interval]
        value = self.value if self.value is None or math.isfinite(self.value) else None
        return {"figure": self.name, "unit": self.unit, "n": self.n, "value": value, "interval": interval,
                "sources": list(self.sources)}


@dataclass(frozen=True)
class RunMeta:
    run_id: str
    created_at: float
    suite_version: int | None
    name: str | None = None  # the run's label
    rerun_of: str | None = None


@dataclass(frozen=True)
class HistoryPoint:
    """One run of one model on the timeline."""

    run: RunMeta
    model: str
    answers: int
    figures: tuple[HistoryFigure, ...]
    served: tuple[str, ...]
    served_changed: str | None = None  # "A → B" against the model's previous run that said

    def figure(self, name: str) -> HistoryFigure:
        return next(f for f in self.figures if f.name == name)

    def as_json(self) -> dict[str, Any]:
        return {"run_id": self.run.run_id, "created_at": self.run.created_at,
                "suite_version": self.run.suite_version, "name": self.run.name, "rerun_of": self.run.rerun_of,
                "model": self.model, "answers": self.answers, "figures": [f.as_json() for f in self.figures],
                "served": list(self.served), "served_changed": self.served_changed}


def _rate(name: str, verdicts: Sequence[bool], sources: Sequence[str]) -> HistoryFigure:
    n, yes = len(verdicts), sum(verdicts)
    return HistoryFigure(name, "rate", n, yes / n if n else None, wilson_interval(yes, n),
                         tuple(sorted(set(sources))))


_COST_CI_UNSET: Any = object()  # run_figures works the cost interval out itself


def _cost_data(answers: Sequence[AnswerFacts]) -> tuple[list[float], list[float]]:
    """What the cost per success interval resamples: each costed answer's cost and success."""
    costed = [a for a in answers if a.success is not None and a.cost_usd is not None]
    return [a.cost_usd or 0.0 for a in costed], [float(bool(a.success)) for a in costed]


def run_figures(answers: Sequence[AnswerFacts], *, seed: int = 0, n_resamples: int = 2000,
                cost_ci: tuple[float, float] | None = _COST_CI_UNSET) -> tuple[HistoryFigure, ...]:
    """Every figure of one model's answers in one run (`cost_ci`: its cost per success
    interval, when worked out already with the run's other models': see suite_history)."""
    verdicts = [rate_verdicts(a) for a in answers]
    figures: list[HistoryFigure] = []
    for name in ("success", "constraint_violated", *(name for name, _ in UNCERTAINTY_RATES)):
        given = [v[name] for v in verdicts if v[name][0] is not None]
        figures.append(_rate(name, [bool(value) for value, _ in given], [s for _, s in given if s]))
    kw: dict[str, Any] = {"seed": seed, "n_resamples": n_resamples}
    ttft = [a.ttft_ms for a in answers if a.ttft_ms is not None]
    total = [a.total_ms for a in answers if a.total_ms is not None]
    ttft_ci = bootstrap_percentile_intervals(ttft, (50, 95), **kw) or {}
    total_ci = bootstrap_percentile_intervals(total, (95,), **kw) or {}
    figures += [
        HistoryFigure("ttft_p50", "ms", len(ttft), percentile(ttft, 50), ttft_ci.get(50)),
        HistoryFigure("ttft_p95", "ms", len(ttft), percentile(ttft, 95), ttft_ci.get(95)),
        HistoryFigure("total_p95", "ms", len(total), percentile(total, 95), total_ci.get(95)),
    ]
    costed = [a for a in answers if a.success is not None and a.cost_usd is not None]
    wins = sum(bool(a.success) for a in costed)
    spent = math.fsum(a.cost_usd or 0.0 for a in costed)
    value = (spent / wins if wins else math.inf) if costed else None
    interval = bootstrap_ratio_interval(*_cost_data(answers), **kw) if cost_ci is _COST_CI_UNSET else cost_ci
    figures.append(HistoryFigure("cost_per_success", "usd", len(costed), value, interval))
    return tuple(figures)


def suite_history(runs: Sequence[tuple[RunMeta, dict[tuple[Hashable, str], AnswerFacts]]], *,
                  model: str | None = None, seed: int = 0) -> list[HistoryPoint]:
    """The points of every run (oldest first) and model (by name; only `model` if given),
    each marked where what the vendor said it served differs from that model's previous run
    that said anything."""
    ordered = sorted(runs, key=lambda r: (r[0].created_at, r[0].run_id))
    return marked([p for meta, facts in ordered for p in run_points(meta, facts, model=model, seed=seed)])


def run_points(meta: RunMeta, facts: dict[tuple[Hashable, str], AnswerFacts], *,
               model: str | None = None, seed: int = 0) -> list[HistoryPoint]:
    """One run's points, a model each (by name; only `model` if given), not yet marked: a
    run's points depend on its answers alone, so they can be kept while those stay as they are."""
    by_model: dict[str, list[AnswerFacts]] = {}
    for (_, name), answer in sorted(facts.items(), key=lambda kv: repr(kv[0])):
        by_model.setdefault(name, []).append(answer)
    names = [name for name in sorted(by_model) if model is None or name == model]
    # The run's models' cost intervals at once: models with as many answers share their
    # draws, and big ones are worked on side by side (desk.core.resampling), the same
    # figures as one at a time.
    cost_cis = bootstrap_ratio_intervals([_cost_data(by_model[name]) for name in names], seed=seed)
    points = []
    for name, cost_ci in zip(names, cost_cis, strict=True):
        answers = by_model[name]
        served = tuple(sorted({label for a in answers
                               if (label := served_label(a.served_model, a.system_fingerprint)) is not None}))
        points.append(HistoryPoint(meta, name, len(answers), run_figures(answers, seed=seed, cost_ci=cost_ci), served))
    return points


def marked(points: Sequence[HistoryPoint]) -> list[HistoryPoint]:
    """`points` (oldest run first) each marked where what the vendor said it served differs
    from that model's previous run that said anything."""
    out = []
    last_served: dict[str, tuple[str, ...]] = {}
    for point in points:
        before = last_served.get(point.model)
        changed = None
        if point.served and before is not None and before != point.served:
            changed = f"{', '.join(before)} → {', '.join(point.served)}"
        if point.served:
            last_served[point.model] = point.served
        out.append(point if changed == point.served_changed else replace(point, served_changed=changed))
    return out
