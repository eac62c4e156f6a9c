"""A suite's history in figures: each run's rates with Wilson intervals, latencies with
bootstrap intervals, cost per success, and the served-model marker."""

from __future__ import annotations

import math

import pytest

from desk.core.run_compare import AnswerFacts
from desk.core.run_history import RunMeta, run_figures, suite_history
from desk.core.statistics import percentile, wilson_interval


def _figure(figures, name):
    return next(f for f in figures if f.name == name)


def test_rates_and_latencies_of_one_run():
    answers = [AnswerFacts(success=i < 3, violated=i == 0, violated_source="auto", uncertainty="asked_clarifying"
                           if i < 2 else "confident_correct", ttft_ms=100.0 + 10 * i, total_ms=500.0 + i, cost_usd=0.01)
               for i in range(5)] + [AnswerFacts()]  # one answer nobody judged and that failed
    figures = run_figures(answers)
    success = _figure(figures, "success")
    assert (success.n, success.value, success.interval) == (5, 0.6, wilson_interval(3, 5))
    assert _figure(figures, "constraint_violated").sources == ("auto",)
    assert _figure(figures, "asked_clarifying").value == pytest.approx(0.4)
    p50 = _figure(figures, "ttft_p50")
    assert p50.value == percentile([100, 110, 120, 130, 140], 50) and p50.interval[0] <= 120 <= p50.interval[1]
    assert _figure(figures, "cost_per_success").value == pytest.approx(0.05 / 3)


def test_no_success_is_an_unbounded_cost_and_no_verdict_is_no_rate():
    figures = run_figures([AnswerFacts(success=False, cost_usd=0.01, ttft_ms=5.0)] * 3)
    cost = _figure(figures, "cost_per_success")
    assert math.isinf(cost.value) and cost.as_json()["value"] is None
    assert _figure(figures, "fabricated").value is None and _figure(figures, "fabricated").interval is None


def test_the_served_marker_compares_with_the_models_previous_run_that_said_anything():
    def run(i: int, served: str | None) -> tuple[RunMeta, dict]:
        facts = {(("c", 0), "m"): AnswerFacts(served_model=served, ttft_ms=1.0),
                 (("c", 0), "n"): AnswerFacts(served_model="n-1", ttft_ms=1.0)}
        return RunMeta(f"r{i}", float(i), 1), facts

    points = suite_history([run(3, "m-2"), run(1, "m-1"), run(2, None)])  # given out of order
    assert [(p.run.run_id, p.model) for p in points] == [
        ("r1", "m"), ("r1", "n"), ("r2", "m"), ("r2", "n"), ("r3", "m"), ("r3", "n")]
    assert [p.served_changed for p in points if p.model == "m"] == [None, None, "m-1 → m-2"]
    assert [p.model for p in suite_history([run(1, "m-1")], model="n")] == ["n"]


def test_a_runs_cost_intervals_worked_out_together_are_each_models_own():
    """suite_history works a run's models' cost intervals out at once (shared draws for as
    many answers, threads for big ones): each is the one run_figures gives the model alone,
    to the bit, whether the models have as many answers or not, and with `model` chosen."""
    import random

    rng = random.Random(5)

    def answers(n: int) -> list[AnswerFacts]:
        return [AnswerFacts(success=rng.random() < 0.6, cost_usd=round(rng.uniform(0.001, 0.02), 6),
                            ttft_ms=rng.uniform(50, 500), total_ms=rng.uniform(500, 3000)) for _ in range(n)]

    sizes = {"a": 300, "b": 300, "c": 170, "d": 2}
    facts = {((f"case{k}", 0), model): answer for model, n in sizes.items() for k, answer in enumerate(answers(n))}
    points = suite_history([(RunMeta("r1", 1.0, 1), facts)])
    for point in points:
        alone = sorted(((key, a) for key, a in facts.items() if key[1] == point.model), key=lambda kv: repr(kv[0]))
        assert point.figures == run_figures([a for _, a in alone]), point.model
    assert [p.figures for p in suite_history([(RunMeta("r1", 1.0, 1), facts)], model="c")] == \
        [p.figures for p in points if p.model == "c"]
