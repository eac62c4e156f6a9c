"""The engine as the GUI and the CLI use it: store + providers + runner, one shared client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from time import perf_counter
from typing import TypeVar

from desk.core.pricing import Price
from desk.core.provider import ProviderConfig
from desk.core.trial import (
    GenerationSettings,
    ModelRef,
    Variant,
)
from desk.engine import local_model
from desk.engine.errors import EngineError
from desk.engine.jobs import Job, on_own_connection
from desk.engine.keys import (
    KeyStoreError,
    SecretStore,
    delete_api_key,
    env_key,
    get_api_key,
    secret_store,
    set_api_key,
)
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.pricing import Pricer, preload_catalog, wait_for_preload
from desk.engine.recorder import StoreRecorder
from desk.engine.runner import Runner, Target
from desk.engine.services.exports import ExportService
from desk.engine.services.load import LoadService
from desk.engine.services.ratings import RatingService, not_the_machine
from desk.engine.services.suites import SuiteService
from desk.engine.services.trials import TrialService
from desk.engine.url_credentials import secure_stored_urls
from desk.providers.base import Provider
from desk.providers.connections import Connections, HttpClient
from desk.providers.registry import base_url_problem, make_provider
from desk.store.db import Store, open_store
from desk.store.errors import StoreError

T = TypeVar("T")


class UnknownProviders(EngineError):
    """Prices named providers that are not configured: `names`, sorted; nothing was set."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(f"unknown provider(s) {', '.join(names)}")
        self.names = list(names)


class Engine:
    def __init__(
        self,
        store: Store,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        stream: bool = True,
        client: HttpClient | None = None,
    ) -> None:
        self.store = store
        self.timeouts = timeouts or Timeouts()
        self.connections = Connections(connect_timeout=self.timeouts.connect, client=client)
        self.client = self.connections.client
        self.runner = Runner(
            pricer=Pricer(store.get_price),
            timeouts=self.timeouts,
            retry=retry or RetryPolicy(),
            stream=stream,
            known_keys=self._known_keys,
        )
        self._providers: dict[str, Provider] = {}
        # Providers whose last key given could not be kept (no OS keyring): name -> why.
        self._unkept_keys: dict[str, str] = {}
        preload_catalog()
        self._wire()

    def _wire(self) -> None:
        """Build the use-case services on the current store; again after switch_store."""
        self.trials = TrialService(self.store.trials, self.store.responses, self, self.runner, self.add_model)
        path = self.store.path
        self.exports = ExportService(self.store, self.store, lambda: open_store(path))
        self.ratings = RatingService(self.store.ratings, self.store.rubrics, self.store,
                                     rater_name=self.rater_name, elsewhere=self._on_own_connection)
        store = self.store
        self.suites = SuiteService(
            store.suites, trials=store.trials, ratings=store.ratings, answers=store.responses, runs=store.runs, models=store,
            targets=self, reach=self,
            runner=self.runner, recorder=lambda: StoreRecorder(store.responses, clean=self.runner.scrub), scorecards=self,
        )
        self.loads = LoadService(self.store.runs, self, self.runner, self.connections,
                                 create_trial=self.store.trials.create,
                                 own_connection=lambda: open_store(path),
                                 on_own_connection=self._on_own_connection, elsewhere=self._loads_elsewhere)

    @asynccontextmanager
    async def _loads_elsewhere(self, timeouts: Timeouts, retry: RetryPolicy) -> AsyncIterator[LoadService]:
        """Load runs on the calling thread with an engine of their own: a connection to this
        store and an HTTP client with the run's timeouts (see LoadService.run_in_thread)."""
        store = open_store(self.store.path)
        try:
            async with Engine(store, timeouts=timeouts, retry=retry) as engine:
                yield engine.loads
        finally:
            store.close()

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.connections.aclose()

    def switch_store(self, path: str) -> list[str]:
        """Work on another store file (created if new); the old one is closed. Returns what
        opening it changed, to tell the user (see secure_stored_urls)."""
        from desk.store.db import open_store

        try:
            new = open_store(path)
        except StoreError as exc:
            raise EngineError(str(exc)) from None
        old, self.store = self.store, new
        old.close()
        self._providers.clear()
        self.runner.pricer = Pricer(new.get_price)
        self._wire()
        return self.secure_stored_urls()

    def secure_stored_urls(self) -> list[str]:
        """Take any password an older desk kept in a provider's base URL out of the store
        (to the keyring when it can); one note per provider changed, to show once."""
        return secure_stored_urls(self.store)

    def _known_keys(self) -> dict[str, str]:
        """The API key of every provider loaded so far, by name (answers are stored without them)."""
        return {name: p.api_key for name, p in self._providers.items() if p.api_key}

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
        provider = self._make_provider(config, get_api_key(config))
        self._providers[name] = provider
        return provider

    def _make_provider(self, config: ProviderConfig, key: str | None) -> Provider:
        try:
            return make_provider(config, self.client, key)
        except ValueError as exc:  # a stored kind this desk does not speak
            raise EngineError(f"provider {config.name}: {exc}") from None

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
            self._providers[config.name] = self._make_provider(config, key)

    def target(self, ref: ModelRef, settings: GenerationSettings | None = None,
               variant: Variant | None = None) -> Target:
        settings = settings or GenerationSettings()
        if ref.provider == local_model.LOCAL_PROVIDER and settings.max_tokens is None:
            # The built-in 270M model rambles until its context is full; every surface (window,
            # CLI, suites, load) caps it the same way unless the user sets a limit.
            settings = replace(settings, max_tokens=local_model.DEFAULT_MAX_TOKENS)
        return Target(ref, self.provider(ref.provider), settings, variant)

    def configured_models(self) -> list[ModelRef]:
        return [ModelRef(p, m) for p, m in self.store.list_models()]

    def providers(self) -> list[ProviderConfig]:
        return self.store.list_providers()

    def save_provider(self, config: ProviderConfig, *, api_key: str | None = None, new: bool) -> None:
        """Add or update a provider; a key given goes to the OS keyring, never the store.
        All or nothing: when the keyring cannot keep the key, the store is put back as it was
        (a new provider removed, an edited one restored) and KeyStoreError raised, so no
        provider is ever left saved without the key it was given."""
        problem = base_url_problem(config.kind, config.base_url)
        if problem:
            raise EngineError(problem)
        previous = None if new else self.store.get_provider(config.name)
        try:
            if new:
                self.store.add_provider(config)
            else:
                self.store.update_provider(config)
        except StoreError as exc:
            raise EngineError(str(exc)) from None
        self._providers.pop(config.name, None)
        if api_key:
            try:
                set_api_key(config.name, api_key)
            except KeyStoreError as exc:
                if previous is None:
                    self.store.remove_provider(config.name)
                    self._unkept_keys.pop(config.name, None)
                else:  # the old settings and old key stand; a Test must not vouch for the new key
                    self.store.update_provider(previous)
                    self._unkept_keys[config.name] = str(exc)
                raise
            self._unkept_keys.pop(config.name, None)

    def provider_config(self, name: str) -> ProviderConfig | None:
        """The saved settings of provider `name`, or None when there is none."""
        return self.store.get_provider(name)

    def set_provider_key(self, name: str, api_key: str) -> None:
        """Keep `api_key` for the saved provider `name` in the OS keyring (KeyStoreError if
        no keyring can); EngineError when there is no such provider."""
        if self.store.get_provider(name) is None:
            raise EngineError(f"no provider named {name!r}")
        set_api_key(name, api_key)
        self._providers.pop(name, None)
        self._unkept_keys.pop(name, None)

    def unkept_key(self, name: str) -> str | None:
        """Why the key last given for provider `name` was not kept, while no key from its
        environment variable stands in for it; None when nothing was lost."""
        why = self._unkept_keys.get(name)
        config = self.store.get_provider(name) if why else None
        if config is not None and env_key(config):
            return None
        return why

    def secret_store(self) -> SecretStore:
        """Where keys typed into desk are kept (the OS keyring's backend), and whether it can."""
        return secret_store()

    def remove_provider(self, name: str) -> None:
        if not self.store.remove_provider(name):
            raise EngineError(f"no provider named {name!r}")
        delete_api_key(name)
        self._providers.pop(name, None)
        self._unkept_keys.pop(name, None)

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

    def own_prices(self) -> list[tuple[ModelRef, Price]]:
        """The prices the user set, which win over the catalog."""
        return [(ModelRef(provider, model), price) for provider, model, price in self.store.list_prices()]

    def delete_price(self, ref: ModelRef) -> bool:
        """Forget the user's own price for `ref`; False when there was none."""
        return self.store.delete_price(ref.provider, ref.model)

    def set_prices(self, rows: Sequence[tuple[ModelRef, Price]]) -> None:
        """Set many own prices (a team's CSV), all or nothing when a provider is unknown."""
        unknown = sorted({ref.provider for ref, _ in rows if self.store.get_provider(ref.provider) is None})
        if unknown:
            raise UnknownProviders(unknown)
        for ref, price in rows:
            self.store.set_price(ref.provider, ref.model, price)

    def price_data(self) -> str:
        """Which catalog prices are in use, and from when (your own prices always win)."""
        from desk.engine.price_data import current_info

        return current_info().description

    def price_data_ready(self) -> bool:
        """Whether the background preload has installed any price data fetched earlier:
        asked sooner, price_data() names the bundled data while the fetched copy is in use."""
        return wait_for_preload(timeout=0)

    async def update_price_data(self, url: str | None = None) -> str:
        """Fetch the maintained price list (online) and keep it for offline runs; cancel the
        awaiting task to stop. Returns the new description; EngineError says why it failed."""
        from desk.engine.price_data import DEFAULT_URL, PriceDataError, update

        try:
            info = await update(self.client, url or DEFAULT_URL)
        except PriceDataError as exc:
            raise EngineError(str(exc)) from None
        return info.description

    def rater_name(self) -> str | None:
        return self.store.get_setting("rater_name")

    def set_rater_name(self, name: str) -> None:
        name = " ".join(name.split())
        if not name:
            raise EngineError("the rater name cannot be empty")
        not_the_machine(name)
        self.store.set_setting("rater_name", name)


    async def _on_own_connection(self, job: Job, use: Callable[[Store], T]) -> T:
        """`use(store)` on a worker thread with its own connection to this store."""
        path = self.store.path
        return await on_own_connection(lambda: open_store(path), job, use)


    async def unreachable(self, names: Sequence[str]) -> dict[str, str]:
        """Providers that cannot be connected to right now (name -> why), all checked at once
        with one connection each (kept open for the run that follows)."""
        names = list(dict.fromkeys(names))

        async def check(name: str) -> str | None:
            return await self.connections.unreachable(self.provider(name).base_url)

        reasons = await asyncio.gather(*(check(n) for n in names))
        return {n: r for n, r in zip(names, reasons, strict=True) if r is not None}

    async def prewarm(self, ref: ModelRef, connections: int) -> int:
        """Open keep-alive connections ahead of a timed run so connect cost stays out of TTFT."""
        return await self.connections.prewarm(self.provider(ref.provider).base_url, connections)

    async def list_models(self, provider_name: str) -> list[str]:
        return await self.provider(provider_name).list_models()

    async def test_provider(self, provider_name: str) -> float:
        """List models as a health check; return the round trip in ms or raise ProviderError.
        A key that was given but not kept fails the test: an OK would be for another key, or none."""
        why = self.unkept_key(provider_name)
        if why:
            raise EngineError(f"the key you gave for {provider_name} was not kept ({why}), so it cannot be "
                              "tested; put it in an environment variable and name that variable")
        t0 = perf_counter()
        await self.provider(provider_name).list_models()
        return round((perf_counter() - t0) * 1000, 1)
