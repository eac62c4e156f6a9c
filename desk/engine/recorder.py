"""Persists responses as they stream, so a crash leaves a partial answer, not nothing."""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic
from typing import TYPE_CHECKING

from desk.core.response import Attempt, ResponseResult

if TYPE_CHECKING:
    from desk.store.db import Store


class StoreRecorder:
    """A ResponseSink writing to the store; text is flushed at most every `flush_s` seconds
    per response (one small UPDATE), so streaming does not turn into a write storm."""

    def __init__(self, store: Store, flush_s: float = 0.25, clean: Callable[[str], str] = str) -> None:
        self._store = store
        self._clean = clean  # takes configured keys out of text stored mid-stream
        self._flush_s = flush_s
        self._last_flush: dict[str, float] = {}

    def response_started(self, result: ResponseResult) -> None:
        self._store.create_response(result)
        self._last_flush[result.id] = monotonic()

    def text_received(self, result: ResponseResult, delta: str, parts: list[str]) -> None:
        now = monotonic()
        if now - self._last_flush.get(result.id, 0.0) >= self._flush_s:
            self._last_flush[result.id] = now
            self._store.update_response_text(result.id, self._clean("".join(parts)), result.reasoning_text)

    def attempt_finished(self, result: ResponseResult, attempt: Attempt) -> None:
        self._store.save_attempt(result.id, attempt)

    def response_finished(self, result: ResponseResult) -> None:
        self._last_flush.pop(result.id, None)
        for attempt in result.attempts:  # a cancelled attempt never reached attempt_finished
            self._store.save_attempt(result.id, attempt)
        self._store.finish_response(result)


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

    def attempt_finished(self, result: ResponseResult, attempt: Attempt) -> None:
        for s in self._sinks:
            s.attempt_finished(result, attempt)  # type: ignore[attr-defined]

    def response_finished(self, result: ResponseResult) -> None:
        for s in self._sinks:
            s.response_finished(result)  # type: ignore[attr-defined]
