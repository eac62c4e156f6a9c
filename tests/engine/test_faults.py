"""Every way a vendor can fail becomes a recorded, readable outcome within its timeout.

Real HTTP to the scripted loopback vendor; each fault is checked for all four protocols
where the vendor server can express it, and on the stored record as well as the result.
"""

from __future__ import annotations

import asyncio
import email.utils
import time

import pytest

from desk.core.provider import ProviderConfig
from desk.core.response import ErrorKind, Status
from desk.core.trial import TrialInput
from desk.engine.policy import RetryPolicy, Timeouts
from tests.engine.conftest import KINDS, TEXT, closed_port, engine_for, ref, run_one, script_for
from tests.timing import SLACK_MS, SLACK_S
from tests.vendor_server import Script

ERROR_TEXT = "upstream exploded while thinking"


def stored(store, r):
    got = store.responses.get(r.id)
    assert got is not None
    return got


# --- HTTP status errors and retries -------------------------------------------------------------


def test_429_with_retry_after_then_success(providers, vendor):
    script_for(vendor, "openai", Script(status=429, headers={"Retry-After": "1"}), Script())
    t0 = time.perf_counter()
    _, r = run_one(providers, "openai")
    elapsed = time.perf_counter() - t0
    assert r.status == Status.OK and r.text == TEXT
    assert r.retries == 1
    assert r.retry_wait_ms == pytest.approx(1000, abs=1)
    assert 1.0 <= elapsed < 2.0 + SLACK_S
    assert [a.http_status for a in r.attempts] == [429, 200]
    first, second = r.attempts
    assert first.status == Status.ERROR and first.error_kind == ErrorKind.RATE_LIMITED
    assert first.retry_after_s == 1.0
    assert first.ratelimit.get("retry-after") == "1"
    assert second.wait_before_ms == pytest.approx(1000, abs=1)
    assert second.started_at - first.ended_at >= 0.99
    assert r.http_status == 200

    row = stored(providers, r)
    assert (row.status, row.retries, row.retry_wait_ms) == (Status.OK, 1, r.retry_wait_ms)
    assert [a.http_status for a in row.attempts] == [429, 200]
    assert row.attempts[0].ratelimit["retry-after"] == "1"
    assert row.attempts[0].error_kind == ErrorKind.RATE_LIMITED


@pytest.mark.parametrize("kind", KINDS)
def test_429_with_retry_after_ms_is_honoured(kind, providers, vendor):
    limits = {"retry-after-ms": "40", "x-ratelimit-remaining-requests": "0"}
    script_for(vendor, kind, Script(status=429, headers=limits), Script())
    _, r = run_one(providers, kind)
    assert r.status == Status.OK and r.text == TEXT
    assert (r.retries, r.retry_wait_ms) == (1, 40.0)
    assert [a.http_status for a in r.attempts] == [429, 200]
    assert r.attempts[0].ratelimit == {"retry-after-ms": "40", "x-ratelimit-remaining-requests": "0"}
    assert r.attempts[0].retry_after_s == pytest.approx(0.04)


def test_retry_after_as_an_http_date(providers, vendor):
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    script_for(vendor, "anthropic", Script(status=529, headers={"Retry-After": past}), Script())
    _, r = run_one(providers, "anthropic")
    assert r.status == Status.OK and r.retries == 1
    assert r.attempts[0].retry_after_s == 0.0 and r.retry_wait_ms == 0.0
    assert r.attempts[0].error_kind == ErrorKind.OVERLOADED


def test_retry_after_beyond_the_limit_is_reported_not_waited(providers, vendor):
    script_for(vendor, "openai", Script(status=429, headers={"Retry-After": "3600"}), Script())
    t0 = time.perf_counter()
    _, r = run_one(providers, "openai")
    assert time.perf_counter() - t0 < 1 + SLACK_S  # not the hour the server asked for
    assert (r.status, r.error_kind, r.retries) == (Status.ERROR, ErrorKind.RATE_LIMITED, 0)
    assert "3600 s" in r.error_message and "not retried" in r.error_message
    assert "Rate limit exceeded" in r.error_message
    assert vendor.pending() == 1


@pytest.mark.parametrize("kind", KINDS)
def test_500_then_529_then_ok(kind, providers, vendor):
    script_for(vendor, kind, Script(status=500), Script(status=529), Script())
    _, r = run_one(providers, kind, retry=RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.05))
    assert r.status == Status.OK and r.text == TEXT
    assert r.retries == 2 and len(r.attempts) == 3
    assert [a.http_status for a in r.attempts] == [500, 529, 200]
    assert [a.error_kind for a in r.attempts] == [ErrorKind.SERVER_ERROR, ErrorKind.OVERLOADED, None]
    assert 0 < r.retry_wait_ms < 200  # quick jittered backoff, recorded
    assert r.retry_wait_ms == pytest.approx(sum(a.wait_before_ms for a in r.attempts))
    assert (r.error_kind, r.error_message) == (None, None)
    assert [a.http_status for a in stored(providers, r).attempts] == [500, 529, 200]


@pytest.mark.parametrize("kind", KINDS)
def test_500_three_times_gives_up_with_the_vendors_message(kind, providers, vendor):
    script_for(vendor, kind, *[Script(status=500, error_message=ERROR_TEXT)] * 3)
    _, r = run_one(providers, kind)
    assert (r.status, r.error_kind, r.http_status) == (Status.ERROR, ErrorKind.SERVER_ERROR, 500)
    assert ERROR_TEXT in r.error_message
    assert len(r.attempts) == 3 and r.retries == 2
    assert all(a.error_kind == ErrorKind.SERVER_ERROR and ERROR_TEXT in a.error_message for a in r.attempts)
    assert r.text == "" and r.ttft_ms is None
    assert r.cost_usd is None
    assert len([q for q in vendor.requests if q.method == "POST"]) == 3
    row = stored(providers, r)
    assert (row.status, row.error_kind, len(row.attempts)) == (Status.ERROR, ErrorKind.SERVER_ERROR, 3)
    assert ERROR_TEXT in row.error_message


@pytest.mark.parametrize("kind", KINDS)
def test_400_is_not_retried(kind, providers, vendor):
    script_for(vendor, kind, Script(status=400, error_message="messages: too many images"), Script())
    _, r = run_one(providers, kind)
    assert (r.status, r.error_kind, r.http_status) == (Status.ERROR, ErrorKind.BAD_REQUEST, 400)
    assert "messages: too many images" in r.error_message
    assert len(r.attempts) == 1 and r.retries == 0
    assert vendor.pending() == 1  # the success was never asked for


@pytest.mark.parametrize("kind", KINDS)
def test_404_unknown_model(kind, providers, vendor):
    vendor.enqueue(
        "no-such-model", Script(status=404, error_message="The model `no-such-model` does not exist")
    )
    _, r = run_one(providers, kind, model="no-such-model")
    assert (r.status, r.error_kind, r.http_status) == (Status.ERROR, ErrorKind.NOT_FOUND, 404)
    assert "no-such-model" in r.error_message and "does not exist" in r.error_message
    assert len(r.attempts) == 1


def test_ollama_404_default_message_names_the_model(providers, vendor):
    vendor.enqueue("mystery:7b", Script(status=404))
    _, r = run_one(providers, "ollama", model="mystery:7b")
    assert (r.error_kind, r.http_status) == (ErrorKind.NOT_FOUND, 404)
    assert r.error_message == 'model "mystery:7b" not found, try pulling it first'


# --- connection faults ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_connection_refused_is_retried_then_reported(kind, store, vendor):
    port = closed_port()
    url = f"http://127.0.0.1:{port}" + ("/v1" if kind == "openai" else "")
    store.providers.add(ProviderConfig(name="dead", kind=kind, base_url=url))
    t0 = time.perf_counter()
    _, r = run_one(store, kind, name="dead")
    assert time.perf_counter() - t0 < 2 + SLACK_S
    assert (r.status, r.error_kind, r.http_status) == (Status.ERROR, ErrorKind.CONNECTION, None)
    assert len(r.attempts) == 3 and r.retries == 2
    assert f"127.0.0.1:{port}" in r.error_message
    assert "refused" in r.error_message.lower(), r.error_message
    assert all(a.error_kind == ErrorKind.CONNECTION for a in r.attempts)
    assert r.ttft_ms is None and r.total_ms is not None


@pytest.mark.parametrize("kind", KINDS)
def test_reset_mid_stream_keeps_partial_text_and_is_not_retried(kind, providers, vendor):
    script_for(vendor, kind, Script(reset_after_pieces=2), Script())
    _, r = run_one(providers, kind)
    assert (r.status, r.error_kind) == (Status.ERROR, ErrorKind.CONNECTION)
    assert r.text == "Hello, "
    assert r.error_message
    assert len(r.attempts) == 1 and r.retries == 0  # a repeat would duplicate the text
    assert vendor.pending() == 1
    assert r.ttft_ms is not None and r.first_token_at is not None
    row = stored(providers, r)
    assert (row.status, row.text, row.error_kind) == (Status.ERROR, "Hello, ", ErrorKind.CONNECTION)


@pytest.mark.parametrize("kind", KINDS)
def test_reset_before_any_content_is_retried(kind, providers, vendor):
    script_for(vendor, kind, Script(reset_after_pieces=0), Script())
    _, r = run_one(providers, kind)
    assert r.status == Status.OK and r.text == TEXT
    assert r.retries == 1
    assert r.attempts[0].error_kind == ErrorKind.CONNECTION


@pytest.mark.parametrize("kind", KINDS)
def test_reset_of_a_whole_answer_is_retried(kind, providers, vendor):
    script_for(vendor, kind, Script(reset_after_pieces=1), Script())
    _, r = run_one(providers, kind, stream=False)
    assert r.status == Status.OK and r.text == TEXT
    assert [a.error_kind for a in r.attempts] == [ErrorKind.CONNECTION, None]


def two_trials(store, kind, **engine_kw):
    """Two one-model trials, one after the other, on one engine (one connection pool)."""

    async def go():
        async with engine_for(store, **engine_kw) as engine:
            first = await engine.trials.run(TrialInput("one"), [ref(kind)])
            second = await engine.trials.run(TrialInput("two"), [ref(kind)])
            return first.responses[0], second.responses[0]

    return asyncio.run(go())


@pytest.mark.parametrize("kind", KINDS)
def test_server_closing_after_each_answer(kind, providers, vendor):
    """Connection: close answers, back to back: the closed connection is not reused."""
    vendor.default_script = Script(close_after_response=True)
    a, b = two_trials(providers, kind)
    assert (a.status, b.status) == (Status.OK, Status.OK)
    assert a.connect_ms is not None and b.connect_ms is not None
    assert len({q.conn_id for q in vendor.requests}) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_timed_out_connection_is_not_reused(kind, providers, vendor):
    script_for(vendor, kind, Script(stall_after_pieces=1), Script())
    a, b = two_trials(providers, kind, timeouts=Timeouts(connect=2, first_token=1, idle=0.15, total=5))
    assert (a.status, a.error_kind, a.text) == (Status.ERROR, ErrorKind.TIMEOUT, "Hello")
    assert (b.status, b.text) == (Status.OK, TEXT)
    assert len({q.conn_id for q in vendor.requests}) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_error_answers_leave_the_connection_reusable(kind, providers, vendor):
    script_for(vendor, kind, Script(status=400), Script())
    a, b = two_trials(providers, kind)
    assert (a.error_kind, b.status) == (ErrorKind.BAD_REQUEST, Status.OK)
    assert len({q.conn_id for q in vendor.requests}) == 1
    assert b.connect_ms is None


# --- timeouts ------------------------------------------------------------------------------------

SHORT = Timeouts(connect=2.0, first_token=0.3, idle=0.25, total=5.0)


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
@pytest.mark.parametrize("kind", KINDS)
def test_stall_after_headers_is_a_first_token_timeout(kind, stream, providers, vendor):
    script_for(vendor, kind, Script(stall_after_headers=True), Script())
    t0 = time.perf_counter()
    _, r = run_one(providers, kind, timeouts=SHORT, stream=stream)
    elapsed = time.perf_counter() - t0
    assert 0.3 <= elapsed < 0.3 + SLACK_S, elapsed
    assert (r.status, r.error_kind) == (Status.ERROR, ErrorKind.TIMEOUT)
    assert r.error_message == "no first token within 0.3 s"
    assert r.http_status == 200 and r.text == ""
    assert len(r.attempts) == 1  # the server answered; it is just slow
    # The first-token clock starts with the attempt, connection included; total_ms from the
    # hand-over to the transport, a few ms later on a busy machine.
    assert 285 <= r.total_ms < 300 + SLACK_MS
    assert vendor.pending() == 1


@pytest.mark.parametrize("kind", KINDS)
def test_stall_mid_stream_is_an_idle_timeout(kind, providers, vendor):
    """A stall after text times out on the idle limit, even with a long first-token limit."""
    timeouts = Timeouts(connect=2.0, first_token=3.0, idle=0.25, total=5.0)
    script_for(vendor, kind, Script(stall_after_pieces=2))
    t0 = time.perf_counter()
    _, r = run_one(providers, kind, timeouts=timeouts)
    elapsed = time.perf_counter() - t0
    assert (r.status, r.error_kind) == (Status.ERROR, ErrorKind.TIMEOUT)
    assert r.error_message == "stream stalled: no new part of the answer for 0.25 s"
    assert 0.2 <= elapsed < 0.25 + SLACK_S, elapsed
    assert r.text == "Hello, "
    assert len(r.attempts) == 1
    assert stored(providers, r).text == "Hello, "


@pytest.mark.parametrize("kind", ["openai", "gemini"])
def test_stall_after_slow_start_is_an_idle_timeout(kind, providers, vendor):
    # The idle limit is far above the 60 ms gaps, so only the real stall trips it.
    timeouts = Timeouts(connect=2.0, first_token=3.0, idle=0.5, total=5.0)
    script_for(vendor, kind, Script(first_token_delay_ms=100, interval_ms=60, stall_after_pieces=3))
    t0 = time.perf_counter()
    _, r = run_one(providers, kind, timeouts=timeouts)
    elapsed = time.perf_counter() - t0
    assert r.error_message == "stream stalled: no new part of the answer for 0.5 s"
    assert r.text == "Hello, world"
    # 100 ms + 2 × 60 ms of answer, then 500 ms of silence.
    assert 0.22 + 0.45 <= elapsed < 0.22 + 0.5 + SLACK_S, elapsed


@pytest.mark.parametrize("kind", KINDS)
def test_headers_that_never_come_are_a_first_token_timeout(kind, providers, vendor):
    script_for(vendor, kind, Script(status=500, first_token_delay_ms=2000), Script())
    t0 = time.perf_counter()
    _, r = run_one(providers, kind, timeouts=SHORT)
    assert 0.3 <= time.perf_counter() - t0 < 0.3 + SLACK_S
    assert (r.status, r.error_kind, r.http_status) == (Status.ERROR, ErrorKind.TIMEOUT, None)
    assert r.error_message == "no first token within 0.3 s"
    assert len(r.attempts) == 1


def test_slow_but_steady_stream_is_not_an_idle_timeout(providers, vendor):
    # 60 ms between pieces against a 0.6 s idle limit: the whole answer (~1 s) outlasts the
    # limit, each gap stays far inside it even on a busy machine.
    timeouts = Timeouts(connect=2.0, first_token=1.0, idle=0.6, total=5.0)
    script_for(vendor, "openai", Script(text_pieces=["x"] * 16, interval_ms=60))
    _, r = run_one(providers, "openai", timeouts=timeouts)
    assert r.status == Status.OK and r.text == "x" * 16


@pytest.mark.parametrize("kind", ["openai", "ollama"])
def test_total_limit(kind, providers, vendor):
    timeouts = Timeouts(connect=2.0, first_token=1.0, idle=1.0, total=0.4)
    script_for(vendor, kind, Script(text_pieces=["x"] * 50, interval_ms=50))
    t0 = time.perf_counter()
    _, r = run_one(providers, kind, timeouts=timeouts)
    assert 0.4 <= time.perf_counter() - t0 < 0.4 + SLACK_S
    assert (r.status, r.error_kind) == (Status.ERROR, ErrorKind.TIMEOUT)
    assert r.error_message == "no complete answer within the total limit of 0.4 s"
    assert 1 <= len(r.text) <= 9  # what arrived in the 0.4 s is kept (a busy machine gets fewer)


# --- broken wire format ---------------------------------------------------------------------------


@pytest.mark.parametrize("stop", [False, True], ids=["carries-on", "stops"])
@pytest.mark.parametrize("kind", KINDS)
def test_malformed_stream_line_is_a_protocol_error(kind, stop, providers, vendor):
    script_for(vendor, kind, Script(malformed_after_pieces=1, malformed_stop=stop), Script())
    _, r = run_one(providers, kind)
    assert (r.status, r.error_kind) == (Status.ERROR, ErrorKind.PROTOCOL)
    assert "malformed" in r.error_message and "{not json" in r.error_message
    assert r.text == "Hello"
    assert len(r.attempts) == 1 and vendor.pending() == 1


@pytest.mark.parametrize("kind", KINDS)
def test_malformed_whole_answer_is_a_protocol_error(kind, providers, vendor):
    script_for(vendor, kind, Script(malformed_after_pieces=0))
    _, r = run_one(providers, kind, stream=False)
    assert (r.status, r.error_kind, r.http_status) == (Status.ERROR, ErrorKind.PROTOCOL, 200)
    assert "malformed JSON body" in r.error_message
    assert len(r.attempts) == 1


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
@pytest.mark.parametrize("kind", KINDS)
def test_html_page_with_200_is_a_protocol_error(kind, stream, providers, vendor):
    script_for(vendor, kind, Script(html_error_page=True, status=200))
    _, r = run_one(providers, kind, stream=stream)
    assert (r.status, r.error_kind, r.http_status) == (Status.ERROR, ErrorKind.PROTOCOL, 200)
    assert "HTML" in r.error_message
    assert "api.example.com | 200: OK" in r.error_message
    assert len(r.attempts) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_html_page_with_502_is_a_server_error_with_its_title(kind, providers, vendor):
    script_for(vendor, kind, *[Script(html_error_page=True, status=502)] * 3)
    _, r = run_one(providers, kind)
    assert (r.status, r.error_kind, r.http_status) == (Status.ERROR, ErrorKind.SERVER_ERROR, 502)
    assert r.error_message == "HTML error page: 'api.example.com | 502: Bad Gateway'"
    assert len(r.attempts) == 3  # a gateway error is worth retrying
    assert "<html" not in r.error_message.lower()


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_content_type_is_a_protocol_error(kind, providers, vendor):
    script_for(vendor, kind, Script(headers={"Content-Type": "text/plain"}))
    _, r = run_one(providers, kind)
    assert (r.status, r.error_kind) == (Status.ERROR, ErrorKind.PROTOCOL)
    assert "text/plain" in r.error_message


@pytest.mark.parametrize("kind", KINDS)
def test_midstream_vendor_error_event(kind, providers, vendor):
    script_for(vendor, kind, Script(midstream_error=True, error_message=ERROR_TEXT), Script())
    _, r = run_one(providers, kind)
    assert r.status == Status.ERROR
    expected = ErrorKind.OVERLOADED if kind == "anthropic" else ErrorKind.SERVER_ERROR
    assert r.error_kind == expected
    assert ERROR_TEXT in r.error_message
    assert r.text == "Hello"
    assert len(r.attempts) == 1  # text had arrived: a retry would duplicate it


@pytest.mark.parametrize("kind", KINDS)
def test_midstream_error_before_any_text_is_retried(kind, providers, vendor):
    script_for(vendor, kind, Script(midstream_error=True, midstream_error_after_pieces=0), Script())
    _, r = run_one(providers, kind)
    assert r.status == Status.OK and r.text == TEXT
    assert r.retries == 1


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
# Anthropic has no content-filter stop: its stop_reason "refusal" is the model's answer
# (tests/providers/test_vendor_refusals.py).
@pytest.mark.parametrize("kind", ["openai", "gemini"])
def test_content_filter_finish_is_an_error(kind, stream, providers, vendor):
    script_for(vendor, kind, Script(finish_reason="content_filter"))
    _, r = run_one(providers, kind, stream=stream)
    assert (r.status, r.error_kind) == (Status.ERROR, ErrorKind.CONTENT_FILTER)
    assert r.finish_reason == "content_filter"
    assert "content filter" in r.error_message
    assert r.text == TEXT  # what the vendor did send is kept
    assert r.usage.output_tokens == 4  # and it was billed
    assert len(r.attempts) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_oversize_stream_is_read_through(kind, providers, vendor):
    script_for(vendor, kind, Script(oversize_bytes=300_000))
    _, r = run_one(providers, kind)
    assert r.status == Status.OK, r.error_message
    assert len(r.text) > 200_000 and r.text.startswith("lorem ipsum")


@pytest.mark.parametrize("ending", ["\r\n", "\r", "\n"], ids=["crlf", "cr", "lf"])
@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
def test_any_sse_line_ending(kind, ending, providers, vendor):
    script_for(vendor, kind, Script(sse_line_ending=ending))
    _, r = run_one(providers, kind)
    assert r.status == Status.OK and r.text == TEXT


@pytest.mark.parametrize("kind", KINDS)
def test_dripped_stream_split_anywhere(kind, providers, vendor):
    """Bytes trickling in tiny pieces split events, lines and UTF-8 characters anywhere."""
    text = ["Grüße ", "aus ", "Zürich ", "🙂"]
    script_for(vendor, kind, Script(text_pieces=text, drip_bytes_per_s=4000))
    _, r = run_one(providers, kind)
    assert r.status == Status.OK, r.error_message
    assert r.text == "".join(text)
