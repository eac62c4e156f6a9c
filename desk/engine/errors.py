"""The engine's one error type for a request it cannot start, shared by every service."""

from __future__ import annotations


class EngineError(ValueError):
    """A request the engine cannot start (unknown provider, bad settings); one clear line.
    `outside`: a suite import's attachments refused for lying outside the suite's folder."""

    outside: tuple[str, ...] = ()
