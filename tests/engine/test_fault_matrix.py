"""The fault matrix of the hardening issue, all four protocols: each status ends in a
recorded, readable outcome after the retries the policy allows, within a bounded time."""

from __future__ import annotations

import time

import pytest

from desk.core.response import ErrorKind, Status
from desk.engine.policy import RetryPolicy
from tests.engine.conftest import KINDS, run_one, script_for
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
    stored = providers.get_response(r.id)
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
