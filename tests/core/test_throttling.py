"""Rate-limit telemetry as data: remaining budgets from headers, and where throttling began."""

from __future__ import annotations

import pytest

from desk.core.load import AttemptMark, RequestOutcome, remaining, throttling


def outcome(seq: int, step: int, concurrency: int, marks: list[AttemptMark]) -> RequestOutcome:
    return RequestOutcome("p/a", step, concurrency, seq, marks[0].start_s * 1000, "ok", marks=marks)


def test_remaining_reads_each_vendors_headers():
    assert remaining({"x-ratelimit-remaining-requests": "59", "x-ratelimit-remaining-tokens": "149984",
                      "x-ratelimit-reset-requests": "1s"}) == (59.0, 149984.0)
    assert remaining({"anthropic-ratelimit-requests-remaining": "49",
                      "anthropic-ratelimit-tokens-remaining": "7000",
                      "anthropic-ratelimit-input-tokens-remaining": "9000"}) == (49.0, 7000.0)
    assert remaining({"anthropic-ratelimit-input-tokens-remaining": "9000"}) == (None, 9000.0)
    assert remaining({"retry-after": "1", "x-ratelimit-remaining-requests": "n/a"}) == (None, None)
    assert remaining({}) == (None, None)


def test_throttling_names_the_step_concurrency_and_rate_before_the_first_429():
    # One request every 0.1 s for 10 s (step 0 at concurrency 2 until 6 s, then concurrency 8);
    # from 8.0 s the vendor answers 429, each retried 0.05 s later.
    outcomes = []
    for i in range(100):
        t = i / 10
        status = 429 if t >= 8.0 else 200
        marks = [AttemptMark("p/a", t, t + (0.01 if status == 429 else 0.25), status, max(0, 80 - i), None)]
        if status == 429:
            marks.append(AttemptMark("p/a", t + 0.05, t + 0.3, 200, None, None))
        outcomes.append(outcome(i, 0 if t < 6 else 1, 2 if t < 6 else 8, marks))
    got = throttling(outcomes)
    assert got == {"model": "p/a", "first_429_at_s": 8.0, "step": 1, "concurrency": 8,
                   # [3.0, 8.0): 50 first tries plus no retries yet = 50 requests in 5 s
                   "request_rate_rps": 10.0, "window_s": 5.0, "requests_before": 80,
                   "in_flight": 2}  # sent at 7.8 and 7.9 s, each taking 0.25 s
    assert throttling(outcomes, "p/a") == got
    assert throttling(outcomes, "p/other") is None
    assert throttling(outcomes[:80]) is None  # no 429: no throttling
    # near the start of a run the window is what there is of it
    early = throttling(outcomes, window_s=60)
    assert early is not None and early["window_s"] == 8.0 and early["request_rate_rps"] == pytest.approx(10.0)


def test_throttling_of_a_fallback_model_is_its_own():
    a = AttemptMark("p/a", 1.0, 1.5, 500, None, None)
    b = AttemptMark("p/b", 1.5, 1.51, 429, 0, None)
    first = outcome(0, 0, 4, [AttemptMark("p/a", 0.5, 0.9, 200, 9, None)])
    second = outcome(1, 0, 4, [a, b])
    assert throttling([first, second], "p/a") is None
    got = throttling([first, second])
    assert got is not None and (got["model"], got["first_429_at_s"], got["requests_before"]) == ("p/b", 1.5, 0)
    assert got["request_rate_rps"] == 0.0  # nothing was sent to p/b before
