"""The fault matrix of the hardening issue, all four protocols: each status ends in a
recorded, readable outcome after the retries the policy allows, within a bounded time."""

from __future__ import annotations

import time

import pytest

from desk.core.response import ErrorKind, Status
from desk.engine.policy import RetryPolicy
from tests.engine.conftest import FAST, KINDS, TEXT, run_one, script_for
from tests.timing import SLACK_S
from tests.vendor_server import Script

QUICK_RETRY = RetryPolicy(max_retries=1, base_delay=0.05, max_delay=0.05)
MATRIX = [
    # status, headers, expected kind
    (429, {}, ErrorKind.RATE_LIMITED),  # no Retry-After: exponential backoff instead
    (500, {}, ErrorKind.SERVER_ERROR),
    (502, {}, ErrorKind.SERVER_ERROR),
    (503, {}, ErrorKind.SERVER_ERROR),
    (529, {}, ErrorKind.OVERLOADED),
]


@pytest.mark.parametrize("status,headers,expected", MATRIX, ids=[str(m[0]) for m in MATRIX])
@pytest.mark.parametrize("kind", KINDS)
def test_status_faults_retry_then_report(kind, status, headers, expected, providers, vendor):
    failing = Script(status=status, headers=headers, error_message=f"vendor says {status}")
    script_for(vendor, kind, failing, failing)
    t0 = time.monotonic()
    _, r = run_one(providers, kind, retry=QUICK_RETRY)
    elapsed = time.monotonic() - t0
    assert r.status == Status.ERROR and r.error_kind == expected
    assert r.http_status == status and f"vendor says {status}" in (r.error_message or "")
    assert [a.http_status for a in r.attempts] == [status, status] and r.retries == 1
    assert 25 <= r.retry_wait_ms <= 60  # backoff with jitter: between half and all of 50 ms
    assert elapsed < 3.0
    stored = providers.responses.get(r.id)
    assert stored.status == Status.ERROR and len(stored.attempts) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_status_fault_then_recovery(kind, providers, vendor):
    script_for(vendor, kind, Script(status=503, error_message="warming up"), Script())
    _, r = run_one(providers, kind, retry=QUICK_RETRY)
    assert r.status == Status.OK and r.retries == 1 and r.text == "Hello, world."


@pytest.mark.parametrize("kind", KINDS)
def test_one_byte_a_second_drip_ends_at_the_idle_limit(kind, providers, vendor):
    """Bytes trickling in without ever completing an event do not keep a stream alive."""
    from desk.engine.policy import Timeouts

    script_for(vendor, kind, Script(text_pieces=["slow " * 40], drip_bytes_per_s=1))
    t0 = time.monotonic()
    _, r = run_one(providers, kind, retry=RetryPolicy(max_retries=0),
                   timeouts=Timeouts(connect=2, first_token=1.0, idle=1.0, total=5))
    assert r.status == Status.ERROR and r.error_kind == ErrorKind.TIMEOUT
    assert "first token" in r.error_message or "stalled" in r.error_message
    assert time.monotonic() - t0 < 3.0


# --- Retry-After on every protocol, JSON cut off mid-object, a body 50x too big -------------------


@pytest.mark.parametrize("kind", KINDS)
def test_429_with_retry_after_seconds_is_waited_then_retried(kind, providers, vendor):
    script_for(vendor, kind, Script(status=429, headers={"Retry-After": "1"}), Script())
    t0 = time.monotonic()
    _, r = run_one(providers, kind)
    elapsed = time.monotonic() - t0
    assert (r.status, r.text, r.retries) == (Status.OK, TEXT, 1), r.error_message
    assert [a.http_status for a in r.attempts] == [429, 200]
    first, second = r.attempts
    assert (first.error_kind, first.retry_after_s) == (ErrorKind.RATE_LIMITED, 1.0)
    assert first.ratelimit.get("retry-after") == "1"
    assert r.retry_wait_ms == pytest.approx(1000, abs=1) and second.wait_before_ms == pytest.approx(1000, abs=1)
    assert second.started_at - first.ended_at >= 0.99
    assert 1.0 <= elapsed < 2.0 + SLACK_S
    assert [a.http_status for a in providers.responses.get(r.id).attempts] == [429, 200]


# A hang would end at the total limit as a timeout; anything under it is a real outcome.
NO_HANG_S = FAST.total + SLACK_S
CUT = [False, True]
CUT_IDS = ["body-ends", "connection-drops"]


@pytest.mark.parametrize("abort", CUT, ids=CUT_IDS)
@pytest.mark.parametrize("kind", KINDS)
def test_stream_cut_off_mid_json_object(kind, abort, providers, vendor):
    """An event's JSON cut off halfway, then the body ends (the parser finds it at EOF) or
    the connection drops mid-body: the text so far is kept, the cause is named, no retry
    (it would repeat the text)."""
    script_for(vendor, kind, Script(truncate_after_pieces=2, truncate_abort=abort), Script())
    t0 = time.monotonic()
    _, r = run_one(providers, kind)
    assert time.monotonic() - t0 < NO_HANG_S
    if abort:
        assert (r.status, r.error_kind) == (Status.ERROR, ErrorKind.CONNECTION)
        assert "closed the connection before the response ended" in r.error_message
    else:
        assert (r.status, r.error_kind) == (Status.ERROR, ErrorKind.PROTOCOL)
        assert r.error_message.startswith("malformed ") and "{" in r.error_message
    assert r.text == "Hello, " and len(r.attempts) == 1 and vendor.pending() == 1
    row = providers.responses.get(r.id)
    assert (row.status, row.error_kind, row.text) == (Status.ERROR, r.error_kind, "Hello, ")
    assert row.error_message == r.error_message


@pytest.mark.parametrize("abort", CUT, ids=CUT_IDS)
@pytest.mark.parametrize("kind", KINDS)
def test_whole_answer_cut_off_mid_json_object(kind, abort, providers, vendor):
    """A non-streamed body cut in half: as sent it is a protocol error; a connection that
    drops before Content-Length is reached is a connection fault, and asked again."""
    script_for(vendor, kind, Script(truncate_after_pieces=0, truncate_abort=abort), Script())
    t0 = time.monotonic()
    _, r = run_one(providers, kind, stream=False)
    assert time.monotonic() - t0 < NO_HANG_S
    if abort:
        assert (r.status, r.text) == (Status.OK, "Hello, world.")
        first = r.attempts[0]
        assert (first.error_kind, len(r.attempts)) == (ErrorKind.CONNECTION, 2)
        assert "closed the connection" in first.error_message
    else:
        assert (r.status, r.error_kind, r.http_status) == (Status.ERROR, ErrorKind.PROTOCOL, 200)
        assert r.error_message.startswith("malformed JSON body: ")
        assert len(r.attempts) == 1 and vendor.pending() == 1
    assert providers.responses.get(r.id).status == r.status


@pytest.mark.parametrize("kind", KINDS)
def test_whole_answer_fifty_times_too_big_is_read_through(kind, providers, vendor):
    """50x a generous 4 KB answer in one JSON body: read, kept and stored whole."""
    size = 50 * 4096
    script_for(vendor, kind, Script(oversize_bytes=size))
    t0 = time.monotonic()
    _, r = run_one(providers, kind, stream=False)
    assert time.monotonic() - t0 < NO_HANG_S
    assert (r.status, r.error_kind) == (Status.OK, None), r.error_message
    assert r.text == "x" * size
    assert providers.responses.get(r.id).text == r.text
