"""Send one request per model, concurrently, and turn each stream into a ResponseResult.

Failures are values, not exceptions: each model's answer (or its error) comes back as a
ResponseResult and one model failing never disturbs the others. Every HTTP request is an
Attempt with its own timing; retries wait per the policy and are recorded.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from time import perf_counter
from typing import Protocol

from desk.core import clock
from desk.core.ids import new_id
from desk.core.key_echo import scrub_answer, scrub_attempt
from desk.core.pricing import Cost, add_costs
from desk.core.provider import ProviderConfig
from desk.core.response import (
    Attempt,
    ErrorKind,
    PendingRetry,
    ResponseResult,
    Status,
    Usage,
    note_unknown,
    scrub_keys,
    tokens_per_second,
)
from desk.core.surrogates import SurrogateJoiner, lone_surrogates_note
from desk.core.tools import CallAssembler, ToolCall, ToolSet, check_calls
from desk.core.trial import GenerationSettings, ModelRef, TrialInput, Variant
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.pricing import Pricer
from desk.providers.base import (
    Finished,
    Opened,
    Provider,
    ProviderError,
    ReasoningDelta,
    Served,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UnknownDelta,
    UsageReport,
)
from desk.providers.transport import WireTiming

log = logging.getLogger("desk.engine")


@dataclass(frozen=True)
class Target:
    """A model ready to be called: its provider instance and the settings to send."""

    ref: ModelRef
    provider: Provider
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    variant: Variant | None = None  # replaces the trial's system prompt when set

    def input_for(self, trial: TrialInput) -> TrialInput:
        return trial if self.variant is None else replace(trial, system=self.variant.system)

    @property
    def config(self) -> ProviderConfig:
        return self.provider.config


class ResponseSink(Protocol):
    """Receives progress; the store recorder, the CLI and the GUI each implement it."""

    def response_started(self, result: ResponseResult) -> None: ...

    def text_received(self, result: ResponseResult, delta: str, parts: list[str]) -> None: ...

    # The attempt's tool calls as far as they have arrived (copies), after each piece of one.
    def tool_calls_received(self, result: ResponseResult, calls: list[ToolCall]) -> None: ...

    def attempt_finished(self, result: ResponseResult, attempt: Attempt) -> None: ...

    def response_finished(self, result: ResponseResult) -> None: ...


class GuardedSink:
    """Wraps a sink so a failing view never stops the streams: the error is logged once per
    method and the engine carries on (the result still comes back). A failed store write is
    not swallowed here: the StoreRecorder keeps it in the answer's `store_error`."""

    def __init__(self, inner: ResponseSink) -> None:
        self._inner = inner
        self._failed: set[str] = set()

    def _call(self, name: str, *args: object) -> None:
        method = getattr(self._inner, name, None)
        if method is None and name == "tool_calls_received":
            return  # a sink written before calls streamed live: it gets them with the finished answer
        try:
            method(*args)  # type: ignore[misc]
        except Exception:
            if name not in self._failed:
                self._failed.add(name)
                log.exception("progress sink %s failed; the trial goes on", name)

    def response_started(self, result: ResponseResult) -> None:
        self._call("response_started", result)

    def text_received(self, result: ResponseResult, delta: str, parts: list[str]) -> None:
        self._call("text_received", result, delta, parts)

    def tool_calls_received(self, result: ResponseResult, calls: list[ToolCall]) -> None:
        self._call("tool_calls_received", result, calls)

    def attempt_finished(self, result: ResponseResult, attempt: Attempt) -> None:
        self._call("attempt_finished", result, attempt)

    def response_finished(self, result: ResponseResult) -> None:
        self._call("response_finished", result)


class NullSink:
    def response_started(self, result: ResponseResult) -> None:
        pass

    def text_received(self, result: ResponseResult, delta: str, parts: list[str]) -> None:
        pass

    def tool_calls_received(self, result: ResponseResult, calls: list[ToolCall]) -> None:
        pass

    def attempt_finished(self, result: ResponseResult, attempt: Attempt) -> None:
        pass

    def response_finished(self, result: ResponseResult) -> None:
        pass


@dataclass
class _AttemptStream:
    """What one attempt's events deliver: text and reasoning into the answer, status and
    ids into the attempt, and the instants of its first and last content."""

    result: ResponseResult
    attempt: Attempt
    parts: list[str]
    reasoning: list[str]
    sink: ResponseSink
    first_at: float | None = None
    last_at: float | None = None
    usage: Usage = field(default_factory=Usage)
    error: ProviderError | None = None
    # Every delta goes through these, so a character split across deltas arrives whole.
    texts: SurrogateJoiner = field(default_factory=SurrogateJoiner)
    thoughts: SurrogateJoiner = field(default_factory=SurrogateJoiner)
    calls: CallAssembler = field(default_factory=CallAssembler)

    @property
    def has_content(self) -> bool:
        return bool(self.parts or self.reasoning or self.calls)

    def take(self, event: StreamEvent) -> None:
        result, attempt = self.result, self.attempt
        if isinstance(event, TextDelta):
            if self.first_at is None:
                self.first_at = event.at
            self.last_at = event.at
            result.refusal = result.refusal or event.refusal
            result.chunk_times.append(event.at)
            if text := self.texts.feed(event.text):
                self.parts.append(text)
                self.sink.text_received(result, text, self.parts)
        elif isinstance(event, ToolCallDelta):  # its first byte counts as the first token
            self.first_at = event.at if self.first_at is None else self.first_at
            self.last_at = event.at
            result.chunk_times.append(event.at)  # a load run's TTFT and ITL count called tools too
            self.calls.feed(event.index, event.id, event.name, event.arguments)
            self.sink.tool_calls_received(result, self.calls.snapshot())
        elif isinstance(event, ReasoningDelta):
            self.last_at, result.reasoning_signature = event.at, event.signature or result.reasoning_signature
            if event.redacted:  # opaque, sent back unchanged: never scrubbed (desk.core.key_echo)
                result.reasoning_redacted += (event.redacted,)
            if thought := self.thoughts.feed(event.text):
                self.reasoning.append(thought)
        elif isinstance(event, UsageReport):
            self.usage = self.usage.merged(event.usage)
        elif isinstance(event, Served):
            result.served_model = event.model or result.served_model
            result.system_fingerprint = event.fingerprint or result.system_fingerprint
        elif isinstance(event, UnknownDelta):
            note_unknown(result.unknown_fields, event.name, event.raw)
        elif isinstance(event, Opened):
            attempt.http_status = event.http_status
            attempt.vendor_request_id = event.vendor_request_id
            attempt.ratelimit = event.ratelimit
        elif isinstance(event, Finished):
            self._finished(event)

    def _finished(self, event: Finished) -> None:
        result, attempt = self.result, self.attempt
        result.finish_reason = event.finish_reason
        attempt.vendor_request_id = attempt.vendor_request_id or event.vendor_request_id
        self.last_at = event.at or self.last_at
        # A refusal is the model's answer (Anthropic's stop_reason "refusal"),
        # rated like any; a content filter stopping it is an error.
        result.refusal = result.refusal or event.finish_reason == "refusal"
        if event.finish_reason == "content_filter":
            self.error = ProviderError(
                ErrorKind.CONTENT_FILTER,
                "the vendor stopped the answer (content filter / refusal)",
                attempt.http_status,
            )

    def failed(self, exc: ProviderError) -> None:
        """The request failed: what the error says of the exchange goes on the attempt."""
        attempt = self.attempt
        self.error = exc
        if exc.http_status is not None:
            attempt.http_status = exc.http_status
        attempt.vendor_request_id = attempt.vendor_request_id or exc.vendor_request_id
        if exc.ratelimit:
            attempt.ratelimit = exc.ratelimit
        attempt.retry_after_s = exc.retry_after_s

    def close(self, tools: ToolSet) -> None:
        """A half character still held back had no partner: it ends as U+FFFD. The tool calls
        are complete, and are checked against the trial's tools."""
        if tail := self.texts.close():
            self.parts.append(tail)
            self.sink.text_received(self.result, tail, self.parts)
        if tail := self.thoughts.close():
            self.reasoning.append(tail)
        if self.texts.replaced + self.thoughts.replaced:
            self.result.notes.append(lone_surrogates_note(self.texts.replaced + self.thoughts.replaced))
        self.result.tool_calls = self.calls.calls()
        check_calls(self.result.tool_calls, tools)


def bulk_deadline(timing: WireTiming, timeouts: Timeouts, phase: str, first: float, total: float) -> None:
    """The read deadline of a body read in bulk (loop time), after the reader has taken what
    came: the first-token deadline until content came, then the idle limit after the latest
    piece that brought events, never past the total. Until content came the body also hands
    over what came every idle period, so that a stall right after it is seen on time."""
    loop = asyncio.get_running_loop()
    now = loop.time()
    if phase == "first":
        timing.deadline = first
        timing.wake_at = min(first, now + timeouts.idle)
        return
    arrived = now if timing.events_at is None else timing.events_at + (now - perf_counter())
    timing.deadline = timing.wake_at = min(total, arrived + timeouts.idle)


@dataclass
class Runner:
    """Runs responses with one policy; shared by trials, the CLI and (later) load runs."""

    pricer: Pricer = field(default_factory=Pricer)
    timeouts: Timeouts = field(default_factory=Timeouts)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    stream: bool = True
    rng: random.Random = field(default_factory=random.Random)
    # Every API key the caller has loaded, by provider name: an answer is stored without them.
    known_keys: Callable[[], Mapping[str, str]] = dict
    # Load runs send one request thousands of times: built once per trial, then copied.
    reuse_requests: bool = False
    # Load runs show no text as it streams: a body is read in bulk, each piece only stamped on
    # arrival and parsed once the body has ended; the connection wakes the run only then (or
    # at its read deadline, which it keeps: desk.providers.body.WireTiming).
    quiet_reads: bool = False

    def _keys(self, target: Target) -> dict[str, str]:
        keys = dict(self.known_keys())
        if target.provider.api_key:
            keys[target.config.name] = target.provider.api_key
        return keys

    def scrub(self, text: str) -> str:
        """`text` without any known key (for text stored while it still streams)."""
        return scrub_keys(text, self.known_keys())[0]

    async def run_trial(
        self,
        trial_id: str,
        trial: TrialInput,
        targets: Sequence[Target],
        sink: ResponseSink | None = None,
    ) -> list[ResponseResult]:
        """Run every target at once; results come back in the order of `targets`."""
        sink = GuardedSink(sink) if sink is not None else NullSink()
        # Look prices up now: the first lookup loads the catalog (~0.1 s of blocking work),
        # which mid-stream would delay every other stream's arrival stamps; on a worker
        # thread, so the event loop (the window's, when it runs there) is not held either.
        await asyncio.to_thread(self.pricer.hold, [(t.config, t.ref.model) for t in targets])
        results = [self.new_result(trial_id, t) for t in targets]
        for result in results:
            sink.response_started(result)
        tasks = [
            asyncio.ensure_future(self.run_response(t, trial, r, sink))
            for t, r in zip(targets, results, strict=True)
        ]
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return results

    def new_result(self, trial_id: str, target: Target) -> ResponseResult:
        return ResponseResult(
            id=new_id(),
            trial_id=trial_id,
            model=str(target.ref),
            settings=target.settings.as_dict(),
            variant=target.variant,
        )

    async def run_response(
        self, target: Target, trial: TrialInput, result: ResponseResult, sink: ResponseSink,
        timing: WireTiming | None = None,
    ) -> ResponseResult:
        """Fill `result` by calling the model, retrying per policy. Never raises but on cancel.
        `timing`: the first attempt's (a load step's first wave: it carries the step's Volley)."""
        policy = self.retry
        trial = target.input_for(trial)
        parts: list[str] = []
        reasoning: list[str] = []
        wait_ms = 0.0
        span: tuple[float | None, float | None] = (None, None)
        try:
            for number in range(1, policy.max_retries + 2):
                attempt = Attempt(number=number, started_at=clock.stamp(perf_counter()), wait_before_ms=wait_ms)
                result.attempts.append(attempt)
                parts.clear()
                reasoning.clear()
                result.chunk_times.clear()
                result.refusal, result.unknown_fields = False, {}  # of the final attempt, like its text
                result.served_model = result.system_fingerprint = result.reasoning_signature = None
                result.reasoning_redacted = ()
                result.tool_calls = []
                error, span = await self._attempt(target, trial, result, attempt, parts, reasoning, sink,
                                                  timing if number == 1 and timing is not None else WireTiming())
                self._price_attempt(target, attempt)
                delay = self._retry_delay(error, number, attempt,
                                          got_content=bool(parts or reasoning or result.tool_calls))
                if delay is not None:  # said before the wait, so a view can show the backoff live
                    wait_ms = round(delay * 1000, 3)
                    result.retries += 1
                    result.retry_wait_ms = round(result.retry_wait_ms + wait_ms, 3)
                    result.pending_retry = PendingRetry(clock.stamp(perf_counter()) + delay, policy.max_retries)
                sink.attempt_finished(result, attempt)
                if delay is None:
                    break
                await asyncio.sleep(delay)
                result.pending_retry = None
        except asyncio.CancelledError:
            result.pending_retry = None
            self._finish(target, result, parts, reasoning, span, cancelled=True)
            sink.response_finished(result)
            raise
        self._finish(target, result, parts, reasoning, span, cancelled=False)
        try:
            await self._served_fingerprint(target, result)
        finally:  # a cancel during the lookup still delivers the finished answer
            sink.response_finished(result)
        return result

    async def _served_fingerprint(self, target: Target, result: ResponseResult) -> None:
        """A build the server lists apart from its answers (Ollama's digest), once the
        answer is timed: the provider caches it per model, so only a first answer waits."""
        if result.system_fingerprint is None and result.served_model is not None:
            if built := await target.provider.served_fingerprint(target.ref.model):
                result.system_fingerprint = scrub_keys(built, self._keys(target))[0]

    def _retry_delay(self, error: ProviderError | None, number: int, attempt: Attempt, *,
                     got_content: bool) -> float | None:
        """Seconds to wait before retrying after this attempt, or None: no retry."""
        policy = self.retry
        if error is None or number > policy.max_retries:
            return None
        if not policy.should_retry(error.kind, error.http_status, got_content):
            return None
        delay = policy.delay(number, error.retry_after_s, self.rng)
        if delay > policy.max_retry_after:
            attempt.error_message = (
                f"{attempt.error_message} (server asked to wait {delay:.0f} s; "
                f"more than the {policy.max_retry_after:.0f} s limit, not retried)"
            )
            return None
        return delay

    async def _attempt(
        self,
        target: Target,
        trial: TrialInput,
        result: ResponseResult,
        attempt: Attempt,
        parts: list[str],
        reasoning: list[str],
        sink: ResponseSink,
        timing: WireTiming,
    ) -> tuple[ProviderError | None, tuple[float | None, float | None]]:
        """One HTTP request. Fills `attempt`; returns its error, if any, and the
        perf_counter instants of its first and last content. A request held for its
        volley (`timing.volley`) starts its clocks when the volley fires."""
        timeouts = self.timeouts
        loop = asyncio.get_running_loop()
        timing.bulk = self.quiet_reads
        volley = timing.volley
        t_loop = loop.time()
        total_deadline = t_loop + timeouts.total
        first_deadline = min(total_deadline, t_loop + timeouts.first_token)
        phase = "first"
        rescheduled = t_loop
        got = _AttemptStream(result, attempt, parts, reasoning, sink)
        try:
            async with asyncio.timeout_at(None if volley is not None else first_deadline) as deadline:
                if volley is not None:  # the clocks start when the volley writes the request
                    def fired(at: float) -> None:
                        nonlocal total_deadline, first_deadline
                        total_deadline = at + timeouts.total
                        first_deadline = min(total_deadline, at + timeouts.first_token)
                        deadline.reschedule(first_deadline)
                    volley.on_fire(fired)
                async for events in target.provider.stream_batches(
                    target.ref.model, trial, target.settings, timing=timing, stream=self.stream,
                    reuse=self.reuse_requests,
                ):
                    for event in events:  # what one read brought
                        got.take(event)
                    if phase == "first" and got.has_content:
                        phase = "idle"
                        rescheduled = float("-inf")  # the idle clock starts at the first content
                    if timing.in_bulk:  # the body keeps the read deadline from here on
                        deadline.reschedule(None)
                        bulk_deadline(timing, timeouts, phase, first_deadline, total_deadline)
                        continue
                    # Cheap idle timer: one deadline, moved at most every 50 ms (not reset per read).
                    now = loop.time()
                    if phase == "idle" and now - rescheduled > 0.05:
                        deadline.reschedule(min(total_deadline, now + timeouts.idle))
                        rescheduled = now
        except TimeoutError:
            why = timeouts.reason(phase, total_reached=loop.time() >= total_deadline - 0.001)
            got.error = ProviderError(ErrorKind.TIMEOUT, why, attempt.http_status)
        except ProviderError as exc:
            got.failed(exc)
        except asyncio.CancelledError:
            self._close_attempt(attempt, timing, got.first_at, got.usage)
            attempt.status = Status.INTERRUPTED
            attempt.error_kind = ErrorKind.CANCELLED
            raise
        finally:
            got.close(trial.tools or ToolSet(()))
        self._close_attempt(attempt, timing, got.first_at, got.usage)
        if got.error is None:
            attempt.status = Status.OK
        else:
            attempt.status = Status.ERROR
            attempt.error_kind = got.error.kind
            attempt.error_message = target.provider.redact_secrets(got.error.message)
        scrub_attempt(result, attempt, self._keys(target))  # before it is stored (attempt_finished)
        return got.error, (got.first_at, got.last_at)

    @staticmethod
    def _close_attempt(attempt: Attempt, timing: WireTiming, first_at: float | None, usage: Usage) -> None:
        # Recorded instants are microsecond unix seconds and durations their differences
        # (desk.core.clock), so ttft_ms == round((first_token_at - started_at) * 1000, 3).
        ended_at = clock.stamp(perf_counter())
        if timing.started is not None:
            started_at = attempt.started_at = clock.stamp(timing.started)
            attempt.total_ms = clock.span_ms(started_at, ended_at)
            if first_at is not None:
                attempt.first_token_at = clock.stamp(first_at)
                attempt.ttft_ms = clock.span_ms(started_at, attempt.first_token_at)
        attempt.ended_at = ended_at
        attempt.connect_ms = timing.connect_ms
        if attempt.vendor_request_id is None:  # no id header: the id the body named, even mid-stream
            attempt.vendor_request_id = timing.body_id
        attempt.usage = usage

    def _price_attempt(self, target: Target, attempt: Attempt) -> None:
        if attempt.usage.reported:
            attempt.cost_usd = self.pricer.cost(target.config, target.ref.model, attempt.usage).usd

    def _finish(
        self,
        target: Target,
        result: ResponseResult,
        parts: list[str],
        reasoning: list[str],
        span: tuple[float | None, float | None],
        *,
        cancelled: bool,
    ) -> None:
        scrub_answer(result, "".join(parts), "".join(reasoning), self._keys(target))
        if not result.attempts:
            result.status = Status.INTERRUPTED if cancelled else Status.ERROR
            return
        last = result.attempts[-1]
        result.started_at = last.started_at
        result.first_token_at = last.first_token_at
        result.ended_at = last.ended_at
        result.ttft_ms = last.ttft_ms
        result.total_ms = last.total_ms
        result.connect_ms = next((a.connect_ms for a in reversed(result.attempts) if a.connect_ms), None)
        result.http_status = last.http_status
        result.vendor_request_id = last.vendor_request_id
        result.usage = last.usage
        result.output_tokens_per_s = tokens_per_second(last.usage.output_tokens, *span)
        if cancelled:
            result.status = Status.INTERRUPTED
            result.error_kind = ErrorKind.CANCELLED
            result.error_message = "cancelled by the user; the text that arrived is kept"
        elif last.status == Status.OK:
            result.status = Status.OK
        else:
            result.status = Status.ERROR
            result.error_kind = last.error_kind
            result.error_message = last.error_message
        self._price_result(target, result)

    def _price_result(self, target: Target, result: ResponseResult) -> None:
        """Cost of every attempt; unknown (None, with a note) if the answer's own cost is."""
        final: Cost = self.pricer.cost(target.config, target.ref.model, result.usage)
        result.price_source = final.source or self.pricer.source(target.config, target.ref.model)
        total = add_costs([a.cost_usd for a in result.attempts])
        if total is None or (result.status == Status.OK and final.usd is None):
            result.cost_usd = None
            result.cost_note = final.note or "no usage reported"
        else:
            result.cost_usd = total
            result.cost_note = ""
