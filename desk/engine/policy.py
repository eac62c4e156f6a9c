"""Timeouts and retry policy, with defaults that suit interactive trials."""

from __future__ import annotations

import random
from dataclasses import dataclass

from desk.core.response import RETRYABLE_STATUSES, ErrorKind

_RETRYABLE_KINDS = frozenset(
    {ErrorKind.CONNECTION, ErrorKind.RATE_LIMITED, ErrorKind.OVERLOADED, ErrorKind.SERVER_ERROR}
)


@dataclass(frozen=True)
class Timeouts:
    """Seconds. `first_token` covers a slow start (long prompts, reasoning models);
    `idle` is the longest silence allowed between chunks once the answer is flowing."""

    connect: float = 10.0
    first_token: float = 120.0
    idle: float = 60.0
    total: float = 600.0

    def __post_init__(self) -> None:
        for name in ("connect", "first_token", "idle", "total"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} timeout must be positive")

    def reason(self, phase: str, *, total_reached: bool) -> str:
        """Which limit a timed-out request hit, in the words stored with its error."""
        if total_reached:
            return f"no complete answer within the total limit of {self.total:g} s"
        if phase == "first":
            return f"no first token within {self.first_token:g} s"
        return f"stream stalled: no new part of the answer for {self.idle:g} s"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; a server's Retry-After wins when it gives one."""

    max_retries: int = 2
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0  # a longer Retry-After is reported, not waited out
    honour_retry_after: bool = True

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max retries cannot be negative")

    def should_retry(self, kind: ErrorKind, http_status: int | None, got_content: bool) -> bool:
        """Retry only what a repeat can fix, and never after content arrived (it would duplicate)."""
        if got_content:
            return False
        if http_status is not None and http_status >= 300:
            # A server error the provider read as a refusal of the request itself (its body
            # says so: a 5xx classed a bad request) fails the same way every time.
            refused = http_status >= 500 and kind is ErrorKind.BAD_REQUEST
            return http_status in RETRYABLE_STATUSES and not refused
        return kind in _RETRYABLE_KINDS

    def delay(self, retry_number: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry `retry_number` (1-based)."""
        if retry_after is not None and self.honour_retry_after:
            return retry_after
        cap = min(self.max_delay, self.base_delay * 2 ** (retry_number - 1))
        return cap / 2 + rng.uniform(0, cap / 2)  # "equal jitter": never zero, never in lockstep
