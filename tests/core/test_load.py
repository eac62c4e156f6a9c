import random
import time

import pytest

from desk.core.load import LoadStep, RequestOutcome, agreement, clustered_p95_interval, knee, ramp, summarize
from desk.core.statistics import bootstrap_interval, percentile
from tests.timing import SLACK_S


def outcome(seq, status="ok", total=100.0, ttft=10.0, cost=0.01, kind=None, retries=0, answered_by="p/a",
            itl=(5.0, 5.0), text="yes", input_index=0):
    return RequestOutcome(model="p/a", step=0, concurrency=4, seq=seq, start_offset_ms=seq * 10.0,
                          status=status, error_kind=kind, answered_by=answered_by if status == "ok" else None,
                          request_ttft_ms=ttft if status == "ok" else None, total_ms=total, itl_ms=list(itl),
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


def test_itl_p95_has_an_interval_resampled_by_request():
    s = summarize([outcome(i, itl=(5.0 + i, 6.0 + i, 7.0 + i)) for i in range(20)], wall_s=1.0)
    low, high = s["itl_ms"]["p95_ci"]
    assert low <= s["itl_ms"]["p95"] <= high


def brute_clustered_p95(groups, seed, n_resamples):
    """The cluster bootstrap written plainly: pool the drawn requests' gaps, sort, p95."""
    rng = random.Random(seed)
    estimates = []
    for _ in range(n_resamples):
        picks = rng.choices(range(len(groups)), k=len(groups))
        estimates.append(percentile([v for p in picks for v in groups[p]], 95))
    return percentile(estimates, 2.5), percentile(estimates, 97.5)


@pytest.mark.parametrize("sizes", [(1, 3), (40, 60), (1, 400)])
def test_clustered_interval_is_exactly_the_plain_cluster_bootstrap(sizes):
    rng = random.Random(5)
    # uneven groups, some heavy in the tail (a slow connection: every gap of it large)
    groups = [[rng.expovariate(1 / (50 if r % 7 == 0 else 5)) for _ in range(rng.randint(*sizes))]
              for r in range(60)]
    got = clustered_p95_interval(groups, seed=3, n_resamples=200)
    assert got == pytest.approx(brute_clustered_p95(groups, 3, 200), rel=1e-12)


def test_clustered_interval_is_wider_than_pretending_gaps_are_independent():
    # Each answer streams at its own pace: its gaps are alike, answers differ. Resampling
    # single gaps would treat 50 x 40 gaps as 2000 independent draws.
    rng = random.Random(1)
    groups = [[pace] * 40 for pace in (rng.uniform(5, 50) for _ in range(50))]
    clustered = clustered_p95_interval(groups, seed=0)
    naive = bootstrap_interval([g for grp in groups for g in grp], lambda v: percentile(v, 95), seed=0, n_resamples=500)
    assert clustered[1] - clustered[0] > 2 * (naive[1] - naive[0])
    assert clustered_p95_interval([[1.0, 2.0, 3.0]]) is None  # one answer: no spread between answers to go on


def test_fallbacks_count_requests_that_needed_the_next_model():
    outs = [
        outcome(0),  # the primary answered
        outcome(1, answered_by="p/b"),  # the fallback answered
        outcome(2, status="error", kind="server_error"),  # the fallback was asked and failed too
        outcome(3, status="error", kind="server_error"),  # no fallback configured
    ]
    outs[1].response_ids = ["r-a", "r-b"]
    outs[2].response_ids = ["r-a", "r-b"]
    outs[3].response_ids = ["r-a"]
    s = summarize(outs, 1.0)
    assert s["fallbacks"] == 2 and s["fallbacks_answered"] == 1


def test_costs_with_no_price_are_not_summed_as_zero():
    priced = [outcome(i, cost=0.01) for i in range(3)]
    free_error = outcome(3, status="error", kind="server_error", cost=None, text="")  # a 503: no usage, no text
    free_error.output_tokens = None
    s = summarize([*priced, free_error], 1.0)
    assert (s["cost_usd"], s["cost_unknown"], s["cost_partial"]) == (pytest.approx(0.03), 0, False)

    unpriced = outcome(4, cost=None)  # answered: tokens were billed, at no known price
    s = summarize([*priced, unpriced], 1.0)
    assert s["cost_unknown"] == 1 and s["cost_partial"] is True
    assert s["cost_usd"] == pytest.approx(0.03) and s["cost_per_success_usd"] == pytest.approx(0.03 / 4)  # at least

    s = summarize([outcome(i, cost=None) for i in range(3)], 1.0)
    assert s["cost_unknown"] == 3 and s["cost_usd"] is None and s["cost_per_success_usd"] is None
    assert s["cost_per_request_usd"] is None and s["cost_partial"] is False


def test_summarize_thousands_of_streamed_requests_is_quick():
    rng = random.Random(2)
    outs = [outcome(i, total=rng.uniform(100, 900), ttft=rng.uniform(10, 90),
                    itl=[rng.expovariate(0.1) for _ in range(50)], text=str(i % 3)) for i in range(5000)]
    t0 = time.perf_counter()
    s = summarize(outs, 10.0)
    took = time.perf_counter() - t0
    assert s["itl_ms"]["p95_ci"] is not None
    assert took < 4 + SLACK_S  # ~1.3 s here; interval on ITL included
