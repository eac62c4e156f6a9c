"""Persists responses as they stream, so a crash leaves a partial answer, not nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from time import monotonic

from desk.core.key_echo import CallsScrubber
from desk.core.response import Attempt, KeyScrubber, ResponseResult
from desk.core.tools import ToolCall
from desk.engine.ports.trials import ResponseWriter

log = logging.getLogger("desk.engine")


class StoreRecorder:
    """A ResponseSink writing to the store; text is flushed at most every `flush_s` seconds
    per response (one small UPDATE), so streaming does not turn into a write storm.

    A failed write never stops the streams, and is never silent either: the first failure
    of a response is kept in its `store_error`, which every surface reports (the CLI exits
    non-zero, a suite run counts the cell as not stored)."""

    def __init__(self, responses: ResponseWriter, flush_s: float = 0.25, clean: Callable[[str], str] = str) -> None:
        self._responses = responses
        self._clean = clean  # takes configured keys out of text stored mid-stream
        self._flush_s = flush_s
        self._last_flush: dict[str, float] = {}

    def _write(self, result: ResponseResult, what: str, write: Callable[[], object]) -> bool:
        try:
            write()
        except Exception as exc:
            if result.store_error is None:
                result.store_error = f"the answer could not be stored ({what} failed: {exc})"
                log.exception("storing response %s failed (%s)", result.id, what)
            return False
        return True

    def response_started(self, result: ResponseResult) -> None:
        self._write(result, "creating its row", lambda: self._responses.create(result))
        self._last_flush[result.id] = monotonic()

    def text_received(self, result: ResponseResult, delta: str, parts: list[str]) -> None:
        now = monotonic()
        if now - self._last_flush.get(result.id, 0.0) >= self._flush_s:
            self._last_flush[result.id] = now
            self._write(result, "saving the text so far", lambda: self._responses.update_text(
                result.id, self._clean("".join(parts)), result.reasoning_text))

    def tool_calls_received(self, result: ResponseResult, calls: list[ToolCall]) -> None:
        pass  # stored with the finished answer, once checked

    def attempt_finished(self, result: ResponseResult, attempt: Attempt) -> None:
        self._write(result, f"saving attempt {attempt.number}", lambda: self._responses.save_attempt(result.id, attempt))

    def response_finished(self, result: ResponseResult) -> None:
        self._last_flush.pop(result.id, None)

        def finish() -> None:
            for attempt in result.attempts:  # a cancelled attempt never reached attempt_finished
                self._responses.save_attempt(result.id, attempt)
            self._responses.finish(result)

        # The final write is an upsert of everything: when it succeeds the row is whole,
        # whatever failed before (a text flush); when it fails, the answer says it is lost.
        if self._write(result, "saving the finished answer", finish):
            result.store_error = None


class RedactingSink:
    """Hands a view the streamed text with the user's configured keys redacted as it arrives,
    as they will be in the stored answer (desk.engine.runner scrubs that at the end): a key
    the model echoes is never on screen, even for the seconds before the answer finishes.
    `parts` passed on are the redacted pieces released so far. Tool calls shown live are
    redacted the same way (desk.core.key_echo.CallsScrubber)."""

    def __init__(self, inner: object, keys: Callable[[], Iterable[str]]) -> None:
        self._inner = inner
        self._keys = keys
        self._scrubbers: dict[str, KeyScrubber] = {}
        self._shown: dict[str, list[str]] = {}
        self._calls: dict[str, tuple[int, CallsScrubber]] = {}  # by answer: (attempt number, scrubber)

    def response_started(self, result: ResponseResult) -> None:
        self._inner.response_started(result)  # type: ignore[attr-defined]

    def text_received(self, result: ResponseResult, delta: str, parts: list[str]) -> None:
        if len(parts) == 1 or result.id not in self._scrubbers:  # an attempt's first text
            self._scrubbers[result.id] = KeyScrubber(self._keys())
            self._shown[result.id] = []
        shown = self._scrubbers[result.id].feed(delta)
        if shown:
            self._shown[result.id].append(shown)
            self._inner.text_received(result, shown, self._shown[result.id])  # type: ignore[attr-defined]

    def tool_calls_received(self, result: ResponseResult, calls: list[ToolCall]) -> None:
        attempt, scrubber = self._calls.get(result.id, (0, None))
        if scrubber is None or attempt != len(result.attempts):  # a retry streams its calls anew
            scrubber = CallsScrubber(self._keys())
            self._calls[result.id] = (len(result.attempts), scrubber)
        self._inner.tool_calls_received(result, scrubber.feed(calls))  # type: ignore[attr-defined]

    def attempt_finished(self, result: ResponseResult, attempt: Attempt) -> None:
        self._inner.attempt_finished(result, attempt)  # type: ignore[attr-defined]

    def response_finished(self, result: ResponseResult) -> None:
        # What is still held back is shown by the finished answer's (scrubbed) text.
        self._scrubbers.pop(result.id, None)
        self._shown.pop(result.id, None)
        self._calls.pop(result.id, None)
        self._inner.response_finished(result)  # type: ignore[attr-defined]


class FanoutSink:
    """Sends every event to several sinks (the recorder and a view)."""

    def __init__(self, *sinks: object) -> None:
        self._sinks = sinks

    def response_started(self, result: ResponseResult) -> None:
        for s in self._sinks:
            s.response_started(result)  # type: ignore[attr-defined]

    def text_received(self, result: ResponseResult, delta: str, parts: list[str]) -> None:
        for s in self._sinks:
            s.text_received(result, delta, parts)  # type: ignore[attr-defined]

    def tool_calls_received(self, result: ResponseResult, calls: list[ToolCall]) -> None:
        for s in self._sinks:
            s.tool_calls_received(result, calls)  # type: ignore[attr-defined]

    def attempt_finished(self, result: ResponseResult, attempt: Attempt) -> None:
        for s in self._sinks:
            s.attempt_finished(result, attempt)  # type: ignore[attr-defined]

    def response_finished(self, result: ResponseResult) -> None:
        for s in self._sinks:
            s.response_finished(result)  # type: ignore[attr-defined]
