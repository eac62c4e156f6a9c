"""What running a model needs from the providers' side: resolving a model reference to a
ready target, off the event loop where the keyring is slow."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from desk.core.trial import GenerationSettings, ModelRef, Variant
from desk.engine.runner import Target


class Targets(Protocol):
    async def prepare(self, names: Sequence[str]) -> None:
        """Load the named providers and their keys; an unknown name raises EngineError."""

    def target(self, ref: ModelRef, settings: GenerationSettings | None = None,
               variant: Variant | None = None) -> Target:
        """A model ready to send to, with the settings every surface applies to it."""
