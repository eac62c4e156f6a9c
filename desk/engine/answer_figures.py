"""One answer's figures as a pane shows them: live while it streams (measured where the
view is told, from the streaming thread's instants) and the recorded ones once it ends."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from desk.core.figures import fmt_cost, fmt_ms
from desk.core.response import ResponseResult, retry_status


def fmt_tokens(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def metrics_line(r: ResponseResult) -> str:
    """The header summary once an answer is done (or failed)."""
    tps = "–" if r.output_tokens_per_s is None else f"{r.output_tokens_per_s:.1f} tok/s"
    cost = (r.cost_note or "no price") if r.cost_usd is None else fmt_cost(r.cost_usd)
    timing = [f"TTFT {fmt_ms(r.ttft_ms)}", f"total {fmt_ms(r.total_ms)}"]
    if r.retries:  # the user waited for every attempt; TTFT and total are the last one's own
        retries = f"{r.retries} retr{'y' if r.retries == 1 else 'ies'}"
        timing = [f"waited {fmt_ms(r.wall_ms)} ({retries}, {fmt_ms(r.retry_wait_ms)} backing off)",
                  f"final attempt: TTFT {fmt_ms(r.ttft_ms)}", f"total {fmt_ms(r.total_ms)}"]
    parts = [
        *timing,
        f"{fmt_tokens(r.usage.input_tokens)} in / {fmt_tokens(r.usage.output_tokens)} out",
        tps,
        cost,
    ]
    return " · ".join(parts)


def live_status(result: ResponseResult | None, elapsed_s: float, chars: int, now: float,
                calls: int = 0, ttft_ms: float | None = None) -> str:
    """What a streaming answer's header says: the back-off before a retry, else waiting for
    the first token or the characters (and tool calls) so far, with the seconds since it
    started; once a tool call streams, the time to its first byte (its first token)."""
    waiting = retry_status(result, now) if result is not None else None
    if waiting is not None:  # backing off before a retry: say so, not "waiting for the first token"
        return waiting
    if calls:
        text = f"{chars:,} characters · " if chars else ""
        first = f" · TTFT {fmt_ms(ttft_ms)}" if ttft_ms is not None else ""
        return f"streaming · {text}{calls} tool call{'s' if calls > 1 else ''}{first} · {elapsed_s:.1f} s"
    label = "waiting for the first token" if not chars else f"streaming · {chars:,} characters"
    return f"{label} · {elapsed_s:.1f} s"


@dataclass
class AnswerFigures:
    """One answer's figures as it streams (measured here) and once it ends (the recorded ones)."""

    result: ResponseResult
    started: float = field(default_factory=time.monotonic)
    first_text: float | None = None  # monotonic time of the first text
    chars: int = 0
    calls: int = 0  # tool calls begun so far
    finished: bool = False

    @property
    def streaming(self) -> bool:
        return not self.finished

    @property
    def ttft_ms(self) -> float | None:
        """The recorded TTFT once done; while streaming, the time to the first text seen here."""
        if self.finished or self.first_text is None:
            return self.result.ttft_ms
        return (self.first_text - self.started) * 1000

    def chars_per_s(self, now_monotonic: float | None = None) -> float | None:
        """How fast the text arrives (characters a second since the first), while it streams."""
        if self.first_text is None or not self.chars:
            return None
        end = now_monotonic if now_monotonic is not None else time.monotonic()
        return self.chars / max(end - self.first_text, 1e-3)

    @property
    def tokens_per_s(self) -> float | None:
        return self.result.output_tokens_per_s if self.finished else None

    @property
    def cost_usd(self) -> float | None:
        return self.result.cost_usd if self.finished else None

    def status(self, now_monotonic: float | None = None, now: float | None = None) -> str:
        if self.finished:
            return metrics_line(self.result)
        elapsed = (now_monotonic if now_monotonic is not None else time.monotonic()) - self.started
        return live_status(self.result, elapsed, self.chars, now if now is not None else time.time(),
                           self.calls, self.ttft_ms)
