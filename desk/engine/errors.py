"""The engine's own errors: a request it cannot start, said in one plain line."""

from __future__ import annotations

from collections.abc import Sequence


class EngineError(ValueError):
    """A request the engine cannot start (unknown provider, bad settings); one clear line.
    `outside`: a suite import's attachments refused for lying outside the suite's folder."""

    outside: tuple[str, ...] = ()


class UnknownProviders(EngineError):
    """Prices named providers that are not configured: `names`, sorted; nothing was set."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(f"unknown provider(s) {', '.join(names)}")
        self.names = list(names)
