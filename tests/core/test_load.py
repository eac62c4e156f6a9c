import pytest

from desk.core.load import LoadStep, RequestOutcome, agreement, knee, ramp, summarize


def outcome(seq, status="ok", total=100.0, ttft=10.0, cost=0.01, kind=None, retries=0, answered_by="p/a",
            itl=(5.0, 5.0), text="yes", input_index=0):
    return RequestOutcome(model="p/a", step=0, concurrency=4, seq=seq, start_offset_ms=seq * 10.0,
                          status=status, error_kind=kind, answered_by=answered_by if status == "ok" else None,
                          ttft_ms=ttft if status == "ok" else None, total_ms=total, itl_ms=list(itl),
                          retries=retries, cost_usd=cost, output_tokens=10, text=text, input_index=input_index)


def test_summary_figures_by_hand():
    outs = [outcome(i, total=100.0 * (i + 1)) for i in range(8)]
    outs.append(outcome(8, status="error", kind="rate_limited", retries=2, cost=None))
    outs.append(outcome(9, answered_by="p/b", retries=1, total=50.0))  # served by the fallback
    s = summarize(outs, wall_s=2.0)
    assert (s["requests"], s["ok"], s["errors"]) == (10, 9, {"rate_limited": 1})
    assert s["throughput_rps"] == pytest.approx(9 / 2.0)
    assert s["output_tokens_per_s"] == pytest.approx(90 / 2.0)
    assert s["retries"] == 3 and s["retries_per_success"] == pytest.approx(3 / 9)
    assert s["fallbacks"] == 1
    assert s["cost_usd"] == pytest.approx(0.09) and s["cost_unknown"] == 1
    assert s["cost_per_success_usd"] == pytest.approx(0.09 / 9)
    assert s["cost_per_request_usd"] == pytest.approx(0.09 / 10)
    # ok totals: 50, 100..800 -> p50 is the 5th of 9 sorted = 400
    assert s["total_ms"]["p50"] == pytest.approx(400.0)
    assert s["itl_ms"]["n"] == 18 and s["itl_ms"]["p99"] == pytest.approx(5.0)
    assert s["ttft_ms"]["p95_ci"] is not None


def test_knee_is_the_first_step_over_budget():
    steps = [(1, {"total_ms": {"p95": 100}}), (8, {"total_ms": {"p95": 180}}),
             (32, {"total_ms": {"p95": 900}}), (128, {"total_ms": {"p95": 4000}})]
    assert knee(steps, 500) == 32
    assert knee(steps, 10_000) is None


def test_agreement_and_stability():
    a = agreement(["Paris.", "paris", "PARIS", "Lyon"])
    assert a["exact_match_rate"] == pytest.approx(0.75)
    s = summarize([outcome(i, text=t) for i, t in enumerate(["Yes.", "yes", "No"])], 1.0)
    assert s["stability"]["exact_match_rate"] == pytest.approx(2 / 3)
    assert agreement(["only one"]) is None


def test_steps_validate():
    with pytest.raises(ValueError):
        LoadStep(0, 10)
    with pytest.raises(ValueError):
        LoadStep(4)
    assert [s.concurrency for s in ramp([1, 8, 32], requests=20)] == [1, 8, 32]
