"""Per-request evidence, checked against the loopback vendor's own log.

Every HTTP request desk sends keeps started_at / first_token_at / ended_at, the vendor's
request id, the HTTP status, the attempt number and the rate-limit headers as sent. Here
each stored attempt is joined to the server's record of it by request id, and the two
clocks (one machine, one wall clock) must agree: the server read the request after desk
sent it and wrote the first token before desk saw it, each within a few milliseconds at
concurrency 1. The tests check the order exactly and the size only loosely (a busy CI machine
is late by its own scheduling, see tests/timing.py); tests/bench/bench_lag.py measures it.
"""

from __future__ import annotations

import asyncio
import io
import json

import pytest

from desk.core.load import LoadStep
from desk.core.response import ErrorKind, Status
from desk.core.trial import TrialInput
from desk.engine.export_runs import RUN_ATTEMPT_COLUMNS, export_run_attempts, run_attempt_rows
from desk.engine.load import LoadPlan
from desk.engine.policy import RetryPolicy, Timeouts
from tests.engine.conftest import KINDS, MODELS, engine_for, ref, run_one, script_for
from tests.timing import SLACK_S
from tests.vendor_server import LoadProfile, Script

LAG_BOUND_S = SLACK_S  # send and arrival lag: never negative, small but for scheduling noise
RATELIMIT = ("x-ratelimit-", "anthropic-ratelimit-", "ratelimit-", "retry-after")


def limits_sent(rec) -> dict[str, str]:
    """The rate-limit headers the server logged as written (lower-case names, as httpx keeps them)."""
    return {k.lower(): v for k, v in rec.headers_sent.items() if k.lower().startswith(RATELIMIT)}


def generation_records(vendor):
    return [r for r in vendor.requests if r.method == "POST"]


def assert_matches_log(attempt, rec) -> None:
    """One stored attempt against the server's record of the same request."""
    assert attempt.vendor_request_id == rec.request_id
    assert attempt.http_status == rec.status
    assert attempt.ratelimit == limits_sent(rec)
    send_lag = rec.read_at - attempt.started_at
    assert 0 <= send_lag <= LAG_BOUND_S, send_lag
    assert attempt.ended_at >= rec.ended_at - 0.001  # the server logs its end just before the last write
    if rec.first_token_written_at is not None and attempt.first_token_at is not None:
        arrival_lag = attempt.first_token_at - rec.first_token_written_at
        assert 0 <= arrival_lag <= LAG_BOUND_S, arrival_lag
    # microsecond unix seconds, and the identities hold exactly for the stored numbers
    for ts in (attempt.started_at, attempt.first_token_at, attempt.ended_at):
        assert ts is None or round(ts, 6) == ts
    if attempt.first_token_at is not None:
        assert attempt.ttft_ms == round((attempt.first_token_at - attempt.started_at) * 1000, 3)
    assert attempt.total_ms == round((attempt.ended_at - attempt.started_at) * 1000, 3)


@pytest.mark.parametrize("kind", KINDS)
def test_each_attempt_joins_the_servers_log(kind, providers, vendor):
    """A 503 and a 429 (with the vendor's rate-limit headers), then an answer: three
    attempts, each with its own request id, status, timestamps and headers as sent."""
    limits = {"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "0",
              "x-ratelimit-reset-requests": "1s", "x-ratelimit-limit-tokens": "150000",
              "x-ratelimit-remaining-tokens": "149984", "x-ratelimit-reset-tokens": "6m0s",
              "anthropic-ratelimit-requests-remaining": "0",
              "anthropic-ratelimit-requests-reset": "2025-01-31T09:15:03Z", "retry-after-ms": "15"}
    script_for(vendor, kind,
               Script(status=503, headers={"x-ratelimit-remaining-requests": "7"}),
               Script(status=429, headers=limits),
               Script(first_token_delay_ms=30, interval_ms=5,
                      headers={"x-ratelimit-remaining-requests": "58", "anthropic-ratelimit-tokens-remaining": "99"}))
    _, r = run_one(providers, kind)
    assert r.status == Status.OK and r.retries == 2
    recs = generation_records(vendor)
    assert len(recs) == 3 and len({rec.request_id for rec in recs}) == 3
    stored = providers.responses.get(r.id)
    for result in (r, stored):
        assert [a.number for a in result.attempts] == [1, 2, 3]
        assert [a.http_status for a in result.attempts] == [503, 429, 200]
        assert [a.error_kind for a in result.attempts] == [ErrorKind.SERVER_ERROR, ErrorKind.RATE_LIMITED, None]
        for attempt, rec in zip(result.attempts, recs, strict=True):
            assert_matches_log(attempt, rec)
        assert result.attempts[1].ratelimit == limits  # kept exactly as sent, on a failed attempt
        assert result.vendor_request_id == recs[-1].request_id
        assert result.ttft_ms == result.attempts[-1].ttft_ms
    # the wait before each retry is recorded, and the attempts do not overlap
    a1, a2, a3 = stored.attempts
    assert a2.wait_before_ms > 0 and a2.started_at >= a1.ended_at and a3.started_at >= a2.ended_at
    assert a3.wait_before_ms == pytest.approx(15, abs=0.01)  # retry-after-ms honoured



def test_at_concurrency_one_the_clocks_agree_within_milliseconds(providers, vendor):
    """The order checks above allow for a busy machine on any one request; the typical
    request must agree with the server's log to within the issue's max bound (15 ms) for
    both lags. A median of eleven shrugs off the odd descheduled thread, not a slow path."""
    script_for(vendor, "openai", *[Script(first_token_delay_ms=20, interval_ms=2)] * 11)
    sends, arrivals = [], []
    for _ in range(11):
        _, r = run_one(providers, "openai")
        assert r.status == Status.OK
        rec = generation_records(vendor)[-1]
        assert rec.request_id == r.vendor_request_id
        sends.append(rec.read_at - r.started_at)
        arrivals.append(r.first_token_at - rec.first_token_written_at)
    assert min(sends) >= 0 and min(arrivals) >= 0
    assert sorted(sends)[5] <= 0.015, sorted(sends)
    assert sorted(arrivals)[5] <= 0.015, sorted(arrivals)


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
@pytest.mark.parametrize("kind", KINDS)
def test_without_a_request_id_header_the_body_id_is_kept(kind, stream, providers, vendor):
    script_for(vendor, kind, Script(request_id_headers=False))
    _, r = run_one(providers, kind, stream=stream)
    assert r.status == Status.OK
    hex_id = generation_records(vendor)[0].request_id[4:]
    expected = {"openai": "chatcmpl-" + hex_id, "anthropic": "msg_" + hex_id, "gemini": hex_id,
                "ollama": None}[kind]  # Ollama's answers carry no id at all
    assert r.attempts[0].vendor_request_id == expected
    assert providers.responses.get(r.id).vendor_request_id == expected


@pytest.mark.parametrize("fault", [{"reset_after_pieces": 2}, {"stall_after_pieces": 1}], ids=["reset", "stall"])
@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
def test_a_broken_stream_keeps_the_id_its_body_named(kind, fault, providers, vendor):
    """No id header, and the stream is cut (or stalls into the idle timeout) after the id
    came in the body: the failed attempt still carries it."""
    script_for(vendor, kind, Script(request_id_headers=False, **fault))
    _, r = run_one(providers, kind, retry=RetryPolicy(max_retries=0),
                   timeouts=Timeouts(connect=2, first_token=2, idle=0.3, total=5))
    assert r.status == Status.ERROR
    assert r.attempts[0].error_kind == (ErrorKind.TIMEOUT if "stall_after_pieces" in fault else ErrorKind.CONNECTION)
    hex_id = generation_records(vendor)[0].request_id[4:]
    expected = {"openai": "chatcmpl-" + hex_id, "anthropic": "msg_" + hex_id, "gemini": hex_id}[kind]
    assert r.attempts[0].vendor_request_id == expected == providers.responses.get(r.id).vendor_request_id


def test_an_anthropic_error_names_its_request_in_the_body(providers, vendor):
    script_for(vendor, "anthropic", Script(status=400, request_id_headers=False))
    _, r = run_one(providers, "anthropic")
    assert r.status == Status.ERROR and r.attempts[0].vendor_request_id == generation_records(vendor)[0].request_id


def test_a_load_run_keeps_every_attempt_and_its_headers(providers, vendor):
    """Through the load engine: the vendor's budget counts down, then it answers 429; each
    HTTP request (retries included) is stored and exported with what the server logged.
    The window is long enough that a busy machine still sends the first six inside it."""
    vendor.set_load(MODELS["openai"], LoadProfile(limit_requests=5, limit_tokens=1000, tokens_per_request=100,
                                                  window_s=2.0))
    plan = LoadPlan(models=(ref("openai"),), inputs=(TrialInput("hi"),), steps=(LoadStep(1, 7),),
                    retry=RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.05),
                    timeouts=Timeouts(connect=2, first_token=5, idle=2, total=10), warmup=False)

    async def go():
        async with engine_for(providers) as engine:
            return await engine.loads.run(plan)

    result = asyncio.run(go())
    assert [o.status for o in result.outcomes] == ["ok"] * 7
    recs = generation_records(vendor)
    by_id = {rec.request_id: rec for rec in recs}
    rows = run_attempt_rows(providers, result.run_id)
    assert len(rows) == len(recs) == 7 + sum(o.retries for o in result.outcomes)
    assert sum(row["http_status"] == 429 for row in rows) >= 1  # the 6th request found the budget spent
    for row in rows:
        rec = by_id[row["vendor_request_id"]]
        assert row["http_status"] == rec.status and row["ratelimit"] == limits_sent(rec)
        assert 0 <= rec.read_at - row["started_at"] <= LAG_BOUND_S
        assert row["concurrency"] == 1 and row["step"] == 0 and row["run_kind"] == "load"
    retried = [row for row in rows if row["attempt"] > 1]
    assert retried and all(row["seq"] in {o.seq for o in result.outcomes if o.retries} for row in retried)
    left = [int(row["ratelimit"]["x-ratelimit-remaining-requests"]) for row in rows[:5]]
    assert left == [4, 3, 2, 1, 0]  # counted down, as sent
    # the in-memory marks say the same as the stored rows, and survive a reload from the store
    marks = sorted((m for o in result.outcomes for m in o.marks), key=lambda m: m.start_s)
    assert [m.http_status for m in marks] == [row["http_status"] for row in sorted(rows, key=lambda x: x["started_at"])]
    reloaded = sorted((m for o in providers.runs.requests(result.run_id) for m in o.marks), key=lambda m: m.start_s)
    assert [(m.http_status, m.remaining_requests) for m in reloaded] == \
        [(m.http_status, m.remaining_requests) for m in marks]
    # on the run's own clock, to the microsecond (the run's start is stored, not inferred)
    assert all(abs(a.start_s - b.start_s) < 1e-5 for a, b in zip(marks, reloaded, strict=True))

    out = io.StringIO()
    assert export_run_attempts(providers, result.run_id, "jsonl", out).rows == len(rows)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [list(line) for line in lines] == [list(RUN_ATTEMPT_COLUMNS)] * len(rows)
    assert lines == rows
