"""A run of one step: the run's figures are its step's (worked out once), with the rates over
the run's wall time; the same figures a summary of its requests from scratch gives."""

from __future__ import annotations

import desk.core.load as load
from desk.core.load import LoadStep, RequestOutcome, run_figures, summarize
from desk.core.trial import ModelRef, TrialInput
from desk.engine.load import LoadPlan, run_summary

A = ModelRef("p", "a")


def outcomes(step=0, n=40):
    return [RequestOutcome(model=str(A), step=step, concurrency=4, seq=i, start_offset_ms=i * 10.0,
                           status="ok" if i % 7 else "error", error_kind=None if i % 7 else "timeout",
                           answered_by=str(A) if i % 7 else None, request_ttft_ms=10.0 + i,
                           total_ms=100.0 + 3 * i, itl_ms=[5.0 + i % 3, 6.0, 4.0 + i % 5], cost_usd=0.01,
                           output_tokens=10, text=["yes", "Yes.", "no"][i % 3], input_index=i % 4)
            for i in range(n)]


def step_of(outs, index=0, wall=1.5):
    return {"step": index, "concurrency": 4, "wall_s": wall, "send_burst_ms": None,
            "models": {str(A): summarize(outs, wall)}}


def test_one_steps_figures_are_the_runs_over_its_wall_time():
    outs = outcomes()
    assert run_figures(outs, 2.0, [step_of(outs)], str(A)) == summarize(outs, 2.0)


def test_a_run_of_more_steps_or_other_requests_is_summarised_over_its_own():
    first, second = outcomes(), outcomes(step=1)
    both = first + second
    assert run_figures(both, 3.0, [step_of(first), step_of(second, 1)], str(A)) == summarize(both, 3.0)
    # one step stored, another cut short by a cancel: the run has more than the step
    assert run_figures(both, 3.0, [step_of(first)], str(A)) == summarize(both, 3.0)


def test_a_one_step_runs_summary_resamples_nothing_again(monkeypatch):
    outs = outcomes()
    steps = [step_of(outs)]
    plan = LoadPlan(models=(A,), inputs=(TrialInput("x"),), steps=(LoadStep(4, 40),), p95_budget_ms=150.0)
    expected = {"models": {str(A): summarize(outs, 2.0)}}
    calls = []
    for name in ("bootstrap_percentile_intervals", "clustered_p95", "stability"):
        real = getattr(load, name)
        monkeypatch.setattr(load, name, lambda *a, _real=real, _name=name, **kw: calls.append(_name) or _real(*a, **kw))
    summary = run_summary(plan, outs, steps, 2.0, {})
    assert calls == []
    figures = summary["models"][str(A)]
    assert {k: figures[k] for k in expected["models"][str(A)]} == expected["models"][str(A)]
    assert figures["knee_concurrency"] == 4
