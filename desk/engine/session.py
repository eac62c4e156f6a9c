"""The engine as the GUI and the CLI use it: store + providers + runner, one shared client."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import Any

import httpx

from desk.core.load import RequestOutcome
from desk.core.pricing import Price
from desk.core.provider import ProviderConfig
from desk.core.rating import Preference, Rating
from desk.core.response import ResponseResult
from desk.core.rubric import Rubric
from desk.core.trial import GenerationSettings, ModelRef, TrialInput, Variant
from desk.engine.export import ExportResult, export_file, export_run_requests
from desk.engine.keys import delete_api_key, get_api_key, set_api_key
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.pricing import Pricer, preload_catalog
from desk.engine.recorder import FanoutSink, StoreRecorder
from desk.engine.runner import ResponseSink, Runner, Target
from desk.engine.scorecard import ModelScore, compute_scorecard
from desk.providers.base import Provider, ProviderError
from desk.providers.http import make_client
from desk.providers.registry import make_provider
from desk.providers.transport import LeanTransport
from desk.store.db import Store
from desk.store.errors import StoreError
from desk.store.merge import MergeReport
from desk.store.ratings import RatingFilter as ScoreFilter
from desk.store.runs import RunInfo
from desk.store.trials import StoredTrial, TrialSummary


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
        preload_catalog()

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    def switch_store(self, path: str) -> None:
        """Work on another store file (created if new); the old one is closed."""
        from desk.store.db import open_store

        try:
            new = open_store(path)
        except StoreError as exc:
            raise EngineError(str(exc)) from None
        old, self.store = self.store, new
        old.close()
        self._providers.clear()
        self.runner.pricer = Pricer(new.get_price)

    def _config(self, name: str) -> ProviderConfig:
        config = self.store.get_provider(name)
        if config is None:
            known = ", ".join(p.name for p in self.store.list_providers()) or "none yet"
            raise EngineError(
                f"unknown provider {name!r} (configured: {known}); add it with 'desk provider add'"
            )
        return config

    def provider(self, name: str) -> Provider:
        """The provider instance for a configured name (its key read from env or keyring)."""
        config = self._config(name)
        cached = self._providers.get(name)
        if cached is not None and cached.config == config:
            return cached
        provider = make_provider(config, self.client, get_api_key(config))
        self._providers[name] = provider
        return provider

    async def prepare(self, names: Sequence[str]) -> None:
        """Resolve providers and their keys off the event loop: the OS keyring can take
        tens of milliseconds (seconds on a slow D-Bus), which must not freeze the window."""
        todo = []
        for name in dict.fromkeys(names):
            config = self._config(name)
            cached = self._providers.get(name)
            if cached is None or cached.config != config:
                todo.append(config)
        keys = await asyncio.gather(*(asyncio.to_thread(get_api_key, c) for c in todo))
        for config, key in zip(todo, keys, strict=True):
            self._providers[config.name] = make_provider(config, self.client, key)

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
        variants: Sequence[Variant] | None = None,
    ) -> TrialOutcome:
        """Store the trial, run every model (x variant) concurrently, record as it streams."""
        if not models:
            raise EngineError("choose at least one model")
        if not trial.prompt.strip() and not trial.attachments:
            raise EngineError("the prompt is empty")

        def settings_for(ref: ModelRef) -> GenerationSettings:
            if isinstance(settings, Mapping):
                return settings.get(ref, GenerationSettings())
            return settings or GenerationSettings()

        await self.prepare([ref.provider for ref in models])
        targets = [
            Target(ref, self.provider(ref.provider), settings_for(ref), variant)
            for ref in models
            for variant in (variants or [None])
        ]
        if variants:
            trial = TrialInput(trial.prompt, variants[0].system, trial.attachments)
        trial_id = self.store.create_trial(trial, parent_trial_id=parent_trial_id)
        for ref in models:
            self.store.add_model(ref.provider, ref.model)  # so the picker offers it next time
        recorder = StoreRecorder(self.store)
        fan = FanoutSink(recorder, sink) if sink is not None else recorder
        results = await self.runner.run_trial(trial_id, trial, targets, fan)
        return TrialOutcome(trial_id, results)

    def new_results(self, trial_id: str, targets: Sequence[Target]) -> list[ResponseResult]:
        return [self.runner.new_result(trial_id, t) for t in targets]

    # --- what the window needs, so it never touches the store itself ---------------------

    def list_trials(self, search: str | None = None, limit: int = 200) -> list[TrialSummary]:
        return self.store.list_trials(search=search or None, limit=limit)

    def load_trial(self, trial_id: str) -> tuple[StoredTrial, list[ResponseResult]] | None:
        stored = self.store.get_trial(trial_id)
        if stored is None:
            return None
        return stored, self.store.responses_for_trial(trial_id)

    def configured_models(self) -> list[ModelRef]:
        return [ModelRef(p, m) for p, m in self.store.list_models()]

    def providers(self) -> list[ProviderConfig]:
        return self.store.list_providers()

    def save_provider(self, config: ProviderConfig, *, api_key: str | None = None, new: bool) -> None:
        """Add or update a provider; a key given goes to the OS keyring, never the store."""
        try:
            if new:
                self.store.add_provider(config)
            else:
                self.store.update_provider(config)
        except StoreError as exc:
            raise EngineError(str(exc)) from None
        if api_key:
            set_api_key(config.name, api_key)
        self._providers.pop(config.name, None)

    def remove_provider(self, name: str) -> None:
        if not self.store.remove_provider(name):
            raise EngineError(f"no provider named {name!r}")
        delete_api_key(name)
        self._providers.pop(name, None)

    def add_model(self, ref: ModelRef) -> None:
        self.store.add_model(ref.provider, ref.model)

    def remove_model(self, ref: ModelRef) -> None:
        self.store.remove_model(ref.provider, ref.model)

    def price(self, ref: ModelRef) -> tuple[Price | None, str | None]:
        """The user's own price for a model, and where the effective price comes from."""
        config = self.store.get_provider(ref.provider)
        own = self.store.get_price(ref.provider, ref.model)
        source = self.runner.pricer.source(config, ref.model) if config else None
        return own, source

    def set_price(self, ref: ModelRef, price: Price | None) -> None:
        if price is None:
            self.store.delete_price(ref.provider, ref.model)
        else:
            self.store.set_price(ref.provider, ref.model, price)

    # --- rating ---------------------------------------------------------------------------

    def rubric(self) -> Rubric:
        return self.store.default_rubric()

    def save_rubric(self, rubric: Rubric) -> Rubric:
        """Store an edited rubric as its next version (core criteria keys cannot change)."""
        try:
            return self.store.save_rubric_version(rubric)
        except StoreError as exc:
            raise EngineError(str(exc)) from None

    def price_data(self) -> str:
        """Which catalog prices are in use, and from when (your own prices always win)."""
        from desk.engine.price_data import current_info

        return current_info().description

    def rater_name(self) -> str | None:
        return self.store.get_setting("rater_name")

    def set_rater_name(self, name: str) -> None:
        name = " ".join(name.split())
        if not name:
            raise EngineError("the rater name cannot be empty")
        self.store.set_setting("rater_name", name)

    def save_rating(self, response_id: str, values: dict[str, Any], *, rater: str | None = None,
                    blind: bool = False, shown_order: Sequence[str] = ()) -> Rating:
        """Store a rating by `rater` (default: the name set in settings); edits keep history."""
        who = rater or self.rater_name()
        if not who:
            raise EngineError("set your rater name first (it is stored with every rating)")
        try:
            return self.store.save_rating(response_id, who, values, blind=blind, shown_order=tuple(shown_order))
        except StoreError as exc:
            raise EngineError(str(exc)) from None

    def current_ratings(self, response_ids: Sequence[str], rater: str | None = None) -> list[Rating]:
        return self.store.current_ratings(list(response_ids), rater=rater)

    def save_preference(self, response_a: str, response_b: str, winner: str, *, reason: str = "",
                        rater: str | None = None, blind: bool = False,
                        shown_order: Sequence[str] = ()) -> Preference:
        who = rater or self.rater_name()
        if not who:
            raise EngineError("set your rater name first (it is stored with every preference)")
        try:
            return self.store.save_preference(response_a, response_b, winner, who, reason=reason,
                                              blind=blind, shown_order=tuple(shown_order))
        except StoreError as exc:
            raise EngineError(str(exc)) from None

    def scorecard(self, filters: ScoreFilter | None = None, *, seed: int = 0) -> list[ModelScore]:
        """Per-model scorecard over the stored ratings (see desk.engine.scorecard for the rules).

        With a tag or rater filter, the answers in scope are the rated ones it selects;
        otherwise every answer in the trial and date scope counts for latency and cost.
        """
        filters = filters or ScoreFilter()
        pairs = self.store.rated_responses(filters)
        ratings = [rating for _, rating in pairs]
        responses = self.store.all_responses(filters)
        rated = {rating.response_id for rating in ratings}
        if filters.tags or filters.rater:
            responses = [r for r in responses if r.id in rated]
        # A date range selects ratings by when they were made: an answer stored before the
        # range but rated within it is in scope too.
        known = {r.id for r in responses}
        for response, _ in pairs:
            if response.id not in known:
                known.add(response.id)
                responses.append(response)
        in_scope = {r.id for r in responses}
        preferences = [p for p in self.store.current_preferences(filters.rater)
                       if p.response_a in in_scope and p.response_b in in_scope]
        return compute_scorecard(responses, ratings, preferences, seed=seed)

    def export(self, fmt: str, path: str, filters: ScoreFilter | None = None) -> ExportResult:
        """Write rated answers (or preference pairs) to a file; see desk.engine.export."""
        return export_file(self.store, fmt, path, filters)

    def merge(self, path: str) -> MergeReport:
        """Bring another expert's store in, without duplicates (see Store.merge_from)."""
        try:
            return self.store.merge_from(path)
        except StoreError as exc:
            raise EngineError(str(exc)) from None

    # --- load runs (run on their own thread by desk.engine.load; read back here) -----------

    def list_runs(self, kind: str | None = None, limit: int = 200) -> list[RunInfo]:
        """Stored runs, newest first."""
        return self.store.list_runs(kind, limit)

    def load_run(self, run_id: str) -> tuple[RunInfo, list[RequestOutcome]] | None:
        """A stored run and its requests (in start order), or None if it is gone."""
        info = self.store.get_run(run_id)
        if info is None:
            return None
        return info, self.store.run_requests(run_id)

    def export_run_requests(self, run_id: str, fmt: str, path: str) -> ExportResult:
        """Write a run's requests to CSV or JSONL; see desk.engine.export."""
        return export_run_requests(self.store, run_id, fmt, path)

    async def prewarm(self, ref: ModelRef, connections: int) -> int:
        """Open keep-alive connections ahead of a timed run so connect cost stays out of TTFT."""
        transport = self.client._transport
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


__all__ = [
    "Engine",
    "EngineError",
    "ModelScore",
    "ProviderConfig",
    "ProviderError",
    "RunInfo",
    "ScoreFilter",
    "StoredTrial",
    "TrialOutcome",
    "TrialSummary",
]
