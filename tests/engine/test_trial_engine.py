"""The trial engine end to end: several models at once, isolation, cancellation, the
store's record, pricing and concurrency, against the scripted loopback vendor."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from desk.core.pricing import Price
from desk.core.provider import ProviderConfig
from desk.core.response import Attempt, ErrorKind, ResponseResult, Status, Usage
from desk.core.trial import GenerationSettings, ModelRef, TrialInput
from desk.engine.policy import Timeouts
from desk.engine.session import EngineError
from tests.engine.conftest import (
    KINDS,
    MODELS,
    TEXT,
    closed_port,
    config_for,
    engine_for,
    ref,
    run_many,
    run_one,
    script_for,
)
from tests.timing import SLACK_MS, SLACK_S
from tests.vendor_server import Script


class RecordingSink:
    """A view that remembers what the engine told it, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.deltas: dict[str, list[str]] = {}
        self.results: list[ResponseResult] = []
        self.attempts: list[tuple[str, int, Status]] = []

    def response_started(self, result: ResponseResult) -> None:
        self.results.append(result)
        self.events.append(("started", result.id))

    def text_received(self, result: ResponseResult, delta: str, parts: list[str]) -> None:
        self.deltas.setdefault(result.id, []).append(delta)
        assert "".join(parts).endswith(delta)

    def attempt_finished(self, result: ResponseResult, attempt: Attempt) -> None:
        self.attempts.append((result.id, attempt.number, attempt.status))
        self.events.append(("attempt", result.id))

    def response_finished(self, result: ResponseResult) -> None:
        self.events.append(("finished", result.id))


def comparable(r: ResponseResult) -> dict:
    """Every recorded field (the in-memory-only chunk arrival times aside)."""
    d = dataclasses.asdict(r)
    d.pop("chunk_times", None)
    return d


# --- several models at once ---------------------------------------------------------------------


HOLD_MS = 600


def test_all_four_protocols_in_one_trial(providers, vendor):
    for kind in KINDS:
        script_for(vendor, kind, Script(text_pieces=[kind, " says hi"], first_token_delay_ms=HOLD_MS))
    trial_id, results = run_many(providers, [ref(k) for k in KINDS])
    assert [r.model for r in results] == [f"{k}/{MODELS[k]}" for k in KINDS]  # order of the request
    for kind, r in zip(KINDS, results, strict=True):
        assert r.status == Status.OK, (kind, r.error_message)
        assert r.text == f"{kind} says hi"
        assert r.trial_id == trial_id
        assert HOLD_MS <= r.ttft_ms < HOLD_MS + SLACK_MS, (kind, r.ttft_ms)
    # Concurrently, not one after another: the server had read all four requests before it
    # wrote the first token of any (each holds it for HOLD_MS, longer than any scheduling hiccup).
    asked = [q for q in vendor.requests if q.method == "POST"]  # not Ollama's digest lookup after
    assert max(q.read_at for q in asked) < min(q.first_token_written_at for q in asked)


@pytest.mark.parametrize("fault", ["stall", "error", "reset", "refused"])
def test_one_model_failing_never_disturbs_the_others(fault, providers, vendor):
    # The faulty model takes 1.5 s to give up on; the others finish long before (slack included).
    timeouts = Timeouts(connect=2.0, first_token=1.5, idle=1.5, total=5.0)
    script_for(
        vendor,
        "openai",
        Script(text_pieces=["one ", "two ", "three"], first_token_delay_ms=60, interval_ms=20),
    )
    script_for(
        vendor, "gemini", Script(text_pieces=["alpha ", "beta"], first_token_delay_ms=30, interval_ms=30)
    )
    bad = {
        "stall": Script(stall_after_headers=True),
        "error": Script(status=400, error_message="this one is broken"),
        "reset": Script(reset_after_pieces=1),
        "refused": None,
    }[fault]
    if bad is None:
        gone = ProviderConfig(name="gone", kind="anthropic", base_url=f"http://127.0.0.1:{closed_port()}")
        providers.providers.add(gone)
        bad_ref = ModelRef("gone", MODELS["anthropic"])
    else:
        script_for(vendor, "anthropic", bad)
        bad_ref = ref("anthropic")

    trial_id, (a, b, c) = run_many(providers, [ref("openai"), bad_ref, ref("gemini")], timeouts=timeouts)

    assert (a.status, a.text) == (Status.OK, "one two three")
    assert (c.status, c.text) == (Status.OK, "alpha beta")
    assert 60 <= a.ttft_ms < 60 + SLACK_MS and 30 <= c.ttft_ms < 30 + SLACK_MS, (a.ttft_ms, c.ttft_ms)
    assert a.total_ms >= 100 and c.total_ms >= 60
    assert a.total_ms < 100 + SLACK_MS and c.total_ms < 60 + SLACK_MS  # not held up by the faulty one
    assert a.usage.output_tokens == 4 and c.usage.output_tokens == 4

    assert b.status == Status.ERROR
    expected_kind = {
        "stall": ErrorKind.TIMEOUT,
        "error": ErrorKind.BAD_REQUEST,
        "reset": ErrorKind.CONNECTION,
        "refused": ErrorKind.CONNECTION,
    }[fault]
    assert b.error_kind == expected_kind, b.error_message
    stored = {r.id: r for r in providers.responses.for_trial(trial_id)}
    assert [stored[r.id].status for r in (a, b, c)] == [Status.OK, Status.ERROR, Status.OK]


def test_per_model_settings(providers, vendor):
    settings = {
        ref("openai"): GenerationSettings(temperature=0.1),
        ref("ollama"): GenerationSettings(max_tokens=9),
    }

    async def go():
        async with engine_for(providers) as engine:
            return await engine.trials.run(TrialInput("hi"), [ref("openai"), ref("ollama")], settings)

    outcome = asyncio.run(go())
    assert [r.status for r in outcome.responses] == [Status.OK, Status.OK]
    assert outcome.responses[0].settings["temperature"] == 0.1
    assert outcome.responses[1].settings["max_tokens"] == 9
    bodies = {q.protocol: q.json for q in vendor.requests}
    assert bodies["openai"]["temperature"] == 0.1 and "max_tokens" not in bodies["openai"]
    assert bodies["ollama"]["options"] == {"num_predict": 9}



def test_the_built_in_model_is_capped_unless_the_user_sets_a_limit(providers, vendor):
    """A 270M model rambles to the end of its context: every surface sends it a default cap."""
    from desk.core.load import LoadStep
    from desk.engine.load import LoadPlan
    from desk.engine.local_model import DEFAULT_MAX_TOKENS, LOCAL_PROVIDER

    providers.providers.add(config_for("openai", vendor, name=LOCAL_PROVIDER))
    local = ModelRef(LOCAL_PROVIDER, "gemma-3-270m")

    async def go():
        async with engine_for(providers) as engine:
            await engine.trials.run(TrialInput("hi"), [local, ref("openai")])
            await engine.trials.run(TrialInput("hi"), [local], GenerationSettings(max_tokens=40))
            await engine.loads.run(LoadPlan(models=(local,), inputs=(TrialInput("hi"),),
                                            steps=(LoadStep(1, 1),), warmup=False))

    asyncio.run(go())
    bodies = [q.json for q in vendor.requests if q.method == "POST"]
    caps = [(b["model"], b.get("max_tokens", b.get("max_completion_tokens"))) for b in bodies]
    assert sorted(caps, key=str) == sorted([("gemma-3-270m", DEFAULT_MAX_TOKENS), (MODELS["openai"], None),
                                            ("gemma-3-270m", 40), ("gemma-3-270m", DEFAULT_MAX_TOKENS)], key=str)


def test_sink_hears_every_step_in_order(providers, vendor):
    script_for(vendor, "openai", Script(status=503), Script(text_pieces=["a", "b", "c"], interval_ms=2))
    sink = RecordingSink()

    async def go():
        async with engine_for(providers) as engine:
            return await engine.trials.run(TrialInput("hi"), [ref("openai")], sink=sink)

    outcome = asyncio.run(go())
    r = outcome.responses[0]
    assert r.status == Status.OK and r.retries == 1
    assert sink.results[0] is r
    assert [e for e, _ in sink.events] == ["started", "attempt", "attempt", "finished"]
    assert sink.attempts == [(r.id, 1, Status.ERROR), (r.id, 2, Status.OK)]
    assert sink.deltas[r.id] == ["a", "b", "c"]


def test_a_failing_view_never_stops_the_streams(providers, vendor):
    """A progress sink that raises (a broken view) is logged; every answer still arrives."""

    class BrokenView(RecordingSink):
        def text_received(self, result, delta, parts):
            raise RuntimeError("view went away")

    async def go():
        async with engine_for(providers) as engine:
            outcome = await engine.trials.run(TrialInput("hi"), [ref("openai"), ref("anthropic")],
                                             sink=BrokenView())
            return outcome, engine.store.responses.for_trial(outcome.trial_id)

    outcome, stored = asyncio.run(go())
    assert [r.status for r in outcome.responses] == [Status.OK, Status.OK]
    assert all(r.text == TEXT for r in outcome.responses)
    assert [r.status for r in stored] == [Status.OK, Status.OK]  # the store recorder still ran


def test_engine_refuses_what_it_cannot_run(providers):
    async def go(prompt, models):
        async with engine_for(providers) as engine:
            await engine.trials.run(TrialInput(prompt), models)

    with pytest.raises(EngineError, match="at least one model"):
        asyncio.run(go("hi", []))
    with pytest.raises(EngineError, match="prompt is empty"):
        asyncio.run(go("  \n", [ref("openai")]))
    with pytest.raises(EngineError, match="unknown provider 'nope'"):
        asyncio.run(go("hi", [ModelRef("nope", "m")]))
    assert providers.trials.list() == []  # nothing half-stored


# --- cancellation -----------------------------------------------------------------------------------


class _TellingSink(RecordingSink):
    """A RecordingSink that sets `told` once the answer's text is `text`, or an attempt ended."""

    def __init__(self, text: str | None = None) -> None:
        super().__init__()
        self.text, self.told = text, asyncio.Event()

    def text_received(self, result: ResponseResult, delta: str, parts: list[str]) -> None:
        super().text_received(result, delta, parts)
        if "".join(parts) == self.text:
            self.told.set()

    def attempt_finished(self, result: ResponseResult, attempt: Attempt) -> None:
        super().attempt_finished(result, attempt)
        if self.text is None:
            self.told.set()


@pytest.mark.parametrize("kind", KINDS)
def test_cancel_mid_stream_keeps_and_stores_the_partial_text(kind, providers, vendor):
    # Three pieces, then the vendor goes silent: the cancel comes mid-stream however loaded the machine.
    script_for(vendor, kind, Script(text_pieces=[f"w{i} " for i in range(100)], stall_after_pieces=3))
    sink = _TellingSink("w0 w1 w2 ")

    async def go():
        async with engine_for(providers) as engine:
            task = asyncio.ensure_future(engine.trials.run(TrialInput("long"), [ref(kind)], sink=sink))
            await asyncio.wait_for(sink.told.wait(), 30)
            t0 = time.perf_counter()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return time.perf_counter() - t0

    cancel_s = asyncio.run(go())
    assert cancel_s < 2  # prompt: the stalled stream would hold a cancel that waited on it far longer
    r = sink.results[0]
    assert r.status == Status.INTERRUPTED and r.error_kind == ErrorKind.CANCELLED
    assert r.text == "w0 w1 w2 "
    assert r.text == "".join(sink.deltas[r.id])
    assert r.attempts[-1].status == Status.INTERRUPTED
    assert r.ttft_ms is not None

    row = providers.responses.get(r.id)
    assert row is not None
    assert (row.status, row.error_kind, row.text) == (Status.INTERRUPTED, ErrorKind.CANCELLED, r.text)
    assert "cancelled" in row.error_message
    assert [a.status for a in row.attempts] == [Status.INTERRUPTED]
    assert row.attempts[0].error_kind == ErrorKind.CANCELLED
    # A later open must not re-mark it (it is finished, not an orphan).
    assert providers.responses.recover_interrupted() == 0


def test_cancel_during_retry_wait(providers, vendor):
    script_for(vendor, "openai", Script(status=429, headers={"Retry-After": "30"}), Script())
    sink = _TellingSink()

    async def go():
        async with engine_for(providers) as engine:
            task = asyncio.ensure_future(engine.trials.run(TrialInput("hi"), [ref("openai")], sink=sink))
            await asyncio.wait_for(sink.told.wait(), 30)  # told just before the 30 s wait begins
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(go())
    r = sink.results[0]
    assert r.status == Status.INTERRUPTED
    row = providers.responses.get(r.id)
    assert row.status == Status.INTERRUPTED
    assert [a.http_status for a in row.attempts] == [429]


# --- the store's record ----------------------------------------------------------------------------


def test_store_holds_exactly_what_the_engine_returned(providers, vendor):
    providers.prices.set("ollama", MODELS["ollama"], Price(1.0, 2.0))
    script_for(vendor, "openai", Script(status=500), Script(first_token_delay_ms=20, interval_ms=5))
    script_for(vendor, "anthropic", Script(usage=None))
    script_for(vendor, "gemini", Script(reset_after_pieces=2))
    script_for(
        vendor, "ollama",
        Script(status=429, headers={"retry-after-ms": "10", "x-ratelimit-limit-requests": "60"}),
        Script(usage={"input_tokens": 30, "output_tokens": 7}),
    )  # fmt: skip
    trial_id, results = run_many(providers, [ref(k) for k in KINDS])
    rows = providers.responses.for_trial(trial_id)
    assert [r.id for r in rows] == [r.id for r in results]
    for got, want in zip(rows, results, strict=True):
        assert comparable(got) == comparable(want), got.model
    # spot-check the headline numbers too
    summary = [(r.status, r.usage.input_tokens, r.cost_usd, len(r.attempts)) for r in rows]
    assert summary[0][0] == Status.OK and summary[0][3] == 2
    assert summary[1] == (Status.OK, None, None, 1)
    assert summary[2][0] == Status.ERROR and summary[2][3] == 1
    assert summary[3] == (Status.OK, 30, pytest.approx((30 * 1.0 + 7 * 2.0) / 1e6), 2)
    assert rows[3].attempts[0].ratelimit == {"retry-after-ms": "10", "x-ratelimit-limit-requests": "60"}
    assert providers.trials.get(trial_id) is not None


def test_partial_text_reaches_the_disk_while_streaming(providers, vendor):
    """If desk dies mid-stream, the text so far is already stored (flushed a few times a second)."""
    script_for(vendor, "openai", Script(text_pieces=[f"p{i} " for i in range(25)], interval_ms=25))
    seen: list[tuple[Status, str]] = []

    class Peek(RecordingSink):
        def text_received(self, result, delta, parts):
            row = providers.responses.get(result.id)
            seen.append((row.status, row.text))

    async def go():
        async with engine_for(providers) as engine:
            return await engine.trials.run(TrialInput("hi"), [ref("openai")], sink=Peek())

    final = asyncio.run(go()).responses[0]
    assert final.status == Status.OK
    partial = [text for status, text in seen if status == Status.STREAMING and text]
    assert partial, "no text was stored before the answer finished"
    assert all(final.text.startswith(t) for t in partial)
    assert 1 <= len(set(partial)) <= 6  # throttled: not one write per token


def test_empty_answer(providers, vendor):
    script_for(vendor, "openai", Script(text_pieces=[], usage={"input_tokens": 5, "output_tokens": 0}))
    _, r = run_one(providers, "openai")
    assert (r.status, r.text, r.finish_reason) == (Status.OK, "", "stop")
    assert r.ttft_ms is None and r.first_token_at is None and r.total_ms is not None
    assert r.output_tokens_per_s is None
    assert r.usage.output_tokens == 0


def test_stored_timing_identity(providers, vendor):
    script_for(vendor, "anthropic", Script(first_token_delay_ms=30, interval_ms=10))
    _, r = run_one(providers, "anthropic")
    row = providers.responses.get(r.id)
    assert row.ttft_ms == pytest.approx((row.first_token_at - row.started_at) * 1000, abs=1e-3)
    a = row.attempts[0]
    assert a.ttft_ms == pytest.approx((a.first_token_at - a.started_at) * 1000, abs=1e-3)
    assert row.started_at <= row.first_token_at <= row.ended_at


# --- pricing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_user_price_gives_the_hand_computed_cost(kind, providers, vendor):
    usage = {"input_tokens": 100, "output_tokens": 50, "cached_input_tokens": 30, "reasoning_tokens": 20}
    providers.prices.set(
        kind, MODELS[kind], Price(input_per_mtok=1.5, output_per_mtok=6.0, cached_input_per_mtok=0.75)
    )
    script_for(vendor, kind, Script(usage=usage))
    _, r = run_one(providers, kind)
    assert r.status == Status.OK
    cached = r.usage.cached_input_tokens or 0  # Ollama reports no cache count: all input at full price
    expected = ((100 - cached) * 1.5 + cached * 0.75 + 50 * 6.0) / 1e6
    assert r.cost_usd == pytest.approx(expected, rel=1e-9)
    assert (r.price_source, r.cost_note) == ("user", "")
    assert r.attempts[0].cost_usd == pytest.approx(expected, rel=1e-9)
    assert providers.responses.get(r.id).cost_usd == pytest.approx(expected, rel=1e-9)


def test_cost_counts_every_attempt_that_was_billed(providers, vendor):
    """A content-filtered answer is billed; its retry-free error still carries the cost."""
    providers.prices.set("openai", MODELS["openai"], Price(2.0, 4.0))
    script_for(vendor, "openai", Script(finish_reason="content_filter"))
    _, r = run_one(providers, "openai")
    assert r.status == Status.ERROR and r.error_kind == ErrorKind.CONTENT_FILTER
    assert r.cost_usd == pytest.approx((12 * 2.0 + 4 * 4.0) / 1e6)


def test_catalog_price_for_an_anthropic_model(providers, vendor):
    vendor.enqueue(
        "claude-sonnet-4-5",
        Script(usage={"input_tokens": 100, "output_tokens": 50, "cached_input_tokens": 30}),
    )
    _, r = run_one(providers, "anthropic", model="claude-sonnet-4-5")
    assert r.status == Status.OK
    assert r.usage == Usage(100, 50, 30, None)
    assert r.price_source == "catalog"
    # $3 / $15 per Mtok, cache reads $0.30.
    assert r.cost_usd == pytest.approx((70 * 3 + 30 * 0.3 + 50 * 15) / 1e6, rel=1e-6)
    assert r.cost_note == ""


def test_a_user_price_beats_the_catalog(providers, vendor):
    providers.prices.set("anthropic", "claude-sonnet-4-5", Price(1.0, 1.0))
    _, r = run_one(providers, "anthropic", model="claude-sonnet-4-5")
    assert r.price_source == "user"
    assert r.cost_usd == pytest.approx(16 / 1e6)


def test_a_local_model_has_no_price(providers, vendor):
    """A loopback 'OpenAI-compatible' server serving "gpt-4o" is not priced as OpenAI."""
    _, r = run_one(providers, "openai", model="gpt-4o")
    assert r.status == Status.OK and r.usage.input_tokens == 12
    assert (r.cost_usd, r.cost_note, r.price_source) == (None, "no price", None)



def test_prices_are_looked_up_before_any_stream_starts(providers, vendor, monkeypatch):
    """The first catalog lookup parses the whole catalog (~0.1 s, blocking). Done when the
    first answer finishes, it froze the loop while the others streamed and added that to
    their TTFT and total; so each model's first lookup comes before any request is sent."""
    import desk.engine.pricing as pricing

    calls: list[tuple[str, float]] = []
    real = pricing._catalog_price

    def recording(config, model, usage):
        calls.append((model, time.time()))
        return real(config, model, usage)

    monkeypatch.setattr(pricing, "_catalog_price", recording)
    vendor.enqueue("claude-sonnet-4-5", Script())
    script_for(vendor, "openai", Script(text_pieces=["x"] * 5, interval_ms=20))
    _, (claude, _other) = run_many(providers, [ModelRef("anthropic", "claude-sonnet-4-5"), ref("openai")])
    assert claude.price_source == "catalog" and claude.cost_usd is not None
    first_read = min(q.read_at for q in vendor.requests if q.method == "POST")
    first_lookup = {}
    for model, at in calls:
        first_lookup.setdefault(model, at)
    assert set(first_lookup) >= {"claude-sonnet-4-5", MODELS["openai"]}
    assert all(at < first_read for at in first_lookup.values()), (first_lookup, first_read)


# --- connections and concurrency --------------------------------------------------------------------


def test_keep_alive_is_reused_across_trials(providers, vendor):
    async def go():
        async with engine_for(providers) as engine:
            first = await engine.trials.run(TrialInput("a"), [ref("openai")])
            second = await engine.trials.run(TrialInput("b"), [ref("openai")])
            return first.responses[0], second.responses[0]

    a, b = asyncio.run(go())
    assert a.status == b.status == Status.OK
    assert a.connect_ms is not None and b.connect_ms is None  # the second reused the connection
    conns = [q.conn_id for q in vendor.requests]
    assert conns[0] == conns[1]


def test_prewarm_keeps_connect_time_out_of_ttft(providers, vendor):
    async def go():
        async with engine_for(providers) as engine:
            idle = await engine.prewarm(ref("gemini"), 3)
            outcome = await engine.trials.run(TrialInput("a"), [ref("gemini")] * 3)
            return idle, outcome.responses

    idle, results = asyncio.run(go())
    assert idle == 3
    assert all(r.status == Status.OK and r.connect_ms is None for r in results)
    assert len({q.conn_id for q in vendor.requests}) == 3


def test_fifty_concurrent_responses(providers, vendor):
    vendor.default_script = Script(first_token_delay_ms=50, interval_ms=5)
    refs = [ref(KINDS[i % 4]) for i in range(50)]
    t0 = time.perf_counter()
    trial_id, results = run_many(
        providers, refs, timeouts=Timeouts(connect=5, first_token=5, idle=5, total=10)
    )
    elapsed = time.perf_counter() - t0
    assert [r.status for r in results] == [Status.OK] * 50, {r.error_message for r in results}
    assert all(r.text == TEXT for r in results)
    assert all(50 <= r.ttft_ms < 300 + SLACK_MS for r in results), sorted(r.ttft_ms for r in results)[-3:]
    assert len({r.vendor_request_id for r in results}) == 50
    assert elapsed < 3 + SLACK_S
    assert len(providers.responses.for_trial(trial_id)) == 50
