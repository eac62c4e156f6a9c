"""The engine as the GUI and the CLI use it: store + providers + runner, one shared client."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from time import perf_counter

import httpx

from desk.core.provider import ProviderConfig
from desk.core.response import ResponseResult
from desk.core.trial import GenerationSettings, ModelRef, TrialInput
from desk.engine.keys import get_api_key
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.pricing import Pricer
from desk.engine.recorder import FanoutSink, StoreRecorder
from desk.engine.runner import ResponseSink, Runner, Target
from desk.providers.base import Provider, ProviderError
from desk.providers.http import make_client
from desk.providers.registry import make_provider
from desk.providers.transport import LeanTransport
from desk.store.db import Store


class EngineError(ValueError):
    """A request the engine cannot start (unknown provider, bad settings); one clear line."""


@dataclass(frozen=True)
class TrialOutcome:
    trial_id: str
    responses: list[ResponseResult]


class Engine:
    def __init__(
        self,
        store: Store,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        stream: bool = True,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.store = store
        self.timeouts = timeouts or Timeouts()
        self.client = client or make_client(connect_timeout=self.timeouts.connect)
        self.runner = Runner(
            pricer=Pricer(store.get_price),
            timeouts=self.timeouts,
            retry=retry or RetryPolicy(),
            stream=stream,
        )
        self._providers: dict[str, Provider] = {}

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    def provider(self, name: str) -> Provider:
        """The provider instance for a configured name (its key read from env or keyring)."""
        config = self.store.get_provider(name)
        if config is None:
            known = ", ".join(p.name for p in self.store.list_providers()) or "none yet"
            raise EngineError(
                f"unknown provider {name!r} (configured: {known}); add it with 'desk provider add'"
            )
        cached = self._providers.get(name)
        if cached is not None and cached.config == config:
            return cached
        provider = make_provider(config, self.client, get_api_key(config))
        self._providers[name] = provider
        return provider

    def target(self, ref: ModelRef, settings: GenerationSettings | None = None) -> Target:
        return Target(ref, self.provider(ref.provider), settings or GenerationSettings())

    async def run_trial(
        self,
        trial: TrialInput,
        models: Sequence[ModelRef],
        settings: GenerationSettings | Mapping[ModelRef, GenerationSettings] | None = None,
        *,
        parent_trial_id: str | None = None,
        sink: ResponseSink | None = None,
    ) -> TrialOutcome:
        """Store the trial, run every model concurrently, record everything as it streams."""
        if not models:
            raise EngineError("choose at least one model")
        if not trial.prompt.strip() and not trial.attachments:
            raise EngineError("the prompt is empty")

        def settings_for(ref: ModelRef) -> GenerationSettings:
            if isinstance(settings, Mapping):
                return settings.get(ref, GenerationSettings())
            return settings or GenerationSettings()

        targets = [self.target(ref, settings_for(ref)) for ref in models]
        trial_id = self.store.create_trial(trial, parent_trial_id=parent_trial_id)
        recorder = StoreRecorder(self.store)
        fan = FanoutSink(recorder, sink) if sink is not None else recorder
        results = await self.runner.run_trial(trial_id, trial, targets, fan)
        return TrialOutcome(trial_id, results)

    async def prewarm(self, ref: ModelRef, connections: int) -> int:
        """Open keep-alive connections ahead of a timed run so connect cost stays out of TTFT."""
        transport = self.client._transport  # noqa: SLF001 - our own transport
        if not isinstance(transport, LeanTransport):
            return 0
        provider = self.provider(ref.provider)
        return await transport.prewarm(provider.base_url, connections)

    async def list_models(self, provider_name: str) -> list[str]:
        return await self.provider(provider_name).list_models()

    async def test_provider(self, provider_name: str) -> float:
        """List models as a health check; return the round trip in ms or raise ProviderError."""
        t0 = perf_counter()
        await self.provider(provider_name).list_models()
        return round((perf_counter() - t0) * 1000, 1)


__all__ = ["Engine", "EngineError", "TrialOutcome", "ProviderConfig", "ProviderError"]
