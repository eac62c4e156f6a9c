"""The engine's one error for a request it cannot carry out, importable by every service
without importing the application object (desk.engine.session re-exports it)."""

from __future__ import annotations


class EngineError(ValueError):
    """A request the engine cannot start (unknown provider, bad settings); one clear line.
    `outside`: a suite import's attachments refused for lying outside the suite's folder."""

    outside: tuple[str, ...] = ()
