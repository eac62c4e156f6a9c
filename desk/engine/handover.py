"""A stream's progress handed from the thread it runs on to the thread that shows it.

The streaming thread (desk.engine.engine_thread) calls this sink as chunks are parsed; the
window's thread `drain`s it once per frame. Text is coalesced: each answer's deltas since
the last drain arrive as one, so the GUI thread does work per frame, not per chunk.
Order is kept per answer: text that came before an answer's retry or end is handed over
before it. Each event carries the instant (time.monotonic) it happened on the streaming
thread, so a live TTFT is the wire's, never delayed by the frame or by GUI work.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

from desk.core.response import Attempt, ResponseResult
from desk.core.tools import ToolCall

log = logging.getLogger("desk.engine")


class TimedSink(Protocol):
    """Receives a handed-over stream: a ResponseSink whose start and text say when they happened."""

    def response_started(self, result: ResponseResult, at: float | None = None) -> None: ...

    def text_received(self, result: ResponseResult, delta: str, parts: list[str], at: float | None = None) -> None: ...

    def tool_calls_received(self, result: ResponseResult, calls: list[ToolCall]) -> None: ...

    def attempt_finished(self, result: ResponseResult, attempt: Attempt) -> None: ...

    def response_finished(self, result: ResponseResult) -> None: ...


@dataclass
class _Text:
    result: ResponseResult
    first_at: float
    pieces: list[str] = field(default_factory=list)


# (what, the answer, the attempt of an attempt_finished, the instant of a start or a text's first piece, text,
#  the calls so far of a tool_calls_received)
_Event = tuple[str, ResponseResult, Attempt | None, float | None, str, list[ToolCall] | None]


class Handover:
    """A ResponseSink for the streaming thread; `drain(sink)` on the showing thread.

    The ResponseResult objects are the ones the runner fills: the showing thread reads an
    answer's fields once its `response_finished` is handed over (the runner is done with
    it by then), and before that only what a view reads of a streaming answer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[_Event] = []
        self._text: dict[str, _Text] = {}
        # each answer's calls so far, the latest only: every snapshot holds all before it
        self._calls: dict[str, tuple[ResponseResult, list[ToolCall]]] = {}

    # --- the streaming thread ---------------------------------------------------------------
    def response_started(self, result: ResponseResult) -> None:
        now = time.monotonic()
        with self._lock:
            self._events.append(("started", result, None, now, "", None))

    def text_received(self, result: ResponseResult, delta: str, parts: list[str]) -> None:
        now = time.monotonic()
        with self._lock:
            pending = self._text.get(result.id)
            if pending is None:
                pending = self._text[result.id] = _Text(result, now)
            pending.pieces.append(delta)

    def tool_calls_received(self, result: ResponseResult, calls: list[ToolCall]) -> None:
        with self._lock:
            self._calls[result.id] = (result, calls)

    def attempt_finished(self, result: ResponseResult, attempt: Attempt) -> None:
        with self._lock:
            self._text_first(result.id)
            self._events.append(("attempt", result, attempt, None, "", None))

    def response_finished(self, result: ResponseResult) -> None:
        with self._lock:
            self._text_first(result.id)
            self._events.append(("finished", result, None, None, "", None))

    def _text_first(self, response_id: str) -> None:
        """An answer's pending text and calls go ahead of its next event (under the lock)."""
        pending = self._text.pop(response_id, None)
        if pending is not None:
            self._events.append(("text", pending.result, None, pending.first_at, "".join(pending.pieces), None))
        calls = self._calls.pop(response_id, None)
        if calls is not None:
            self._events.append(("calls", calls[0], None, None, "", calls[1]))

    # --- the showing thread -----------------------------------------------------------------
    def drain(self, sink: TimedSink) -> int:
        """Hand everything that arrived since the last drain to `sink`; how many events. A
        failing view is logged and the rest still handed over (as desk.engine.runner's
        GuardedSink does on the streaming thread): one broken pane never loses another's end."""
        with self._lock:
            events, self._events = self._events, []
            texts, self._text = self._text, {}
            calls, self._calls = self._calls, {}
        for event in events:
            self._tell(sink, event)
        for pending in texts.values():
            self._tell(sink, ("text", pending.result, None, pending.first_at, "".join(pending.pieces), None))
        for result, so_far in calls.values():
            self._tell(sink, ("calls", result, None, None, "", so_far))
        return len(events) + len(texts) + len(calls)

    @staticmethod
    def _tell(sink: TimedSink, event: _Event) -> None:
        what, result, attempt, at, text, calls = event
        try:
            if what == "started":
                sink.response_started(result, at=at)
            elif what == "text":
                sink.text_received(result, text, [text], at=at)
            elif what == "calls" and calls is not None:
                sink.tool_calls_received(result, calls)
            elif what == "attempt" and attempt is not None:
                sink.attempt_finished(result, attempt)
            elif what == "finished":
                sink.response_finished(result)
        except Exception:
            log.exception("showing a streamed answer's %s failed; the others are still shown", what)
