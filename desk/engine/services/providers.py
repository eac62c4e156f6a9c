"""Providers and their keys, models and prices: the one place their rules live.

Both front-ends use this service (as `engine.providers`): the base-URL check and the
all-or-nothing save (a key the keyring cannot keep undoes the save), the cache of ready
provider instances and their keys, the user's own prices, discovered local servers and the
built-in model. It implements `Targets` (prepare, target) for the services that run models.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from time import perf_counter

from desk.core.pricing import Price
from desk.core.provider import ProviderConfig
from desk.core.trial import GenerationSettings, ModelRef, Variant
from desk.core.vision import family_takes_images
from desk.engine import local_model
from desk.engine.discover import Found
from desk.engine.errors import EngineError, UnknownProviders
from desk.engine.keys import (
    KeyStoreError,
    delete_api_key,
    env_key,
    get_api_key,
    set_api_key,
)
from desk.engine.ports.providers import PriceRecords, ProviderReader, ProviderRecords
from desk.engine.pricing import Pricer, wait_for_preload
from desk.engine.runner import Target
from desk.providers.base import Provider, ProviderError
from desk.providers.connections import HttpClient
from desk.providers.llama_cpp import LlamaCppProvider
from desk.providers.registry import KINDS, base_url_problem, default_base_url, make_provider
from desk.store.errors import StoreError

# What the front-ends need of the protocols without importing desk.providers themselves.
__all__ = ["KINDS", "ProviderError", "ProviderService", "default_base_url", "takes_api_version"]

# The protocol whose Azure deployments need an api-version (the other kinds have none).
_API_VERSION_KINDS = frozenset({"openai"})


def takes_api_version(kind: str) -> bool:
    """Whether a provider of `kind` has an api-version setting (Azure OpenAI's)."""
    return kind in _API_VERSION_KINDS


class ProviderService:
    """The configured providers as the window and the CLI change and use them."""

    def __init__(self, providers: ProviderRecords, prices: PriceRecords, client: HttpClient,
                 pricer: Pricer) -> None:
        self._records = providers
        # Pure reads need no rule: the saved configs, typed read-only.
        self.configs: ProviderReader = providers
        self._prices = prices
        self._client = client
        self._pricer = pricer
        self._ready: dict[str, Provider] = {}
        # Providers whose last key given could not be kept (no OS keyring): name -> why.
        self._unkept_keys: dict[str, str] = {}

    # --- resolving a name to a ready provider (Targets) ---------------------------------

    def known_keys(self) -> dict[str, str]:
        """The API key of every provider loaded so far, by name (answers are stored without them)."""
        return {name: p.api_key for name, p in self._ready.items() if p.api_key}

    def _config(self, name: str) -> ProviderConfig:
        config = self._records.get(name)
        if config is None:
            known = ", ".join(p.name for p in self._records.all()) or "none yet"
            raise EngineError(
                f"unknown provider {name!r} (configured: {known}); add it with 'desk provider add'"
            )
        return config

    def provider(self, name: str) -> Provider:
        """The provider instance for a configured name (its key read from env or keyring)."""
        config = self._config(name)
        cached = self._ready.get(name)
        if cached is not None and cached.config == config:
            return cached
        provider = self._make_provider(config, get_api_key(config))
        self._ready[name] = provider
        return provider

    def _make_provider(self, config: ProviderConfig, key: str | None) -> Provider:
        try:
            if config.name == local_model.LOCAL_PROVIDER and config.kind == "openai":
                # The built-in model's server is llama-cpp-python: it wants structured output its own way.
                return LlamaCppProvider(config, self._client, key)
            return make_provider(config, self._client, key)
        except ValueError as exc:  # a stored kind this desk does not speak
            raise EngineError(f"provider {config.name}: {exc}") from None

    async def prepare(self, names: Sequence[str]) -> None:
        """Resolve providers and their keys off the event loop: the OS keyring can take
        tens of milliseconds (seconds on a slow D-Bus), which must not freeze the window."""
        todo = []
        for name in dict.fromkeys(names):
            config = self._config(name)
            cached = self._ready.get(name)
            if cached is None or cached.config != config:
                todo.append(config)
        keys = await asyncio.gather(*(asyncio.to_thread(get_api_key, c) for c in todo))
        for config, key in zip(todo, keys, strict=True):
            self._ready[config.name] = self._make_provider(config, key)

    async def resolved_keys(self, names: Sequence[str]) -> dict[str, str | None]:
        """Each provider's key as this engine holds it (read off the event loop if not yet),
        for an engine on another thread to `use_keys`."""
        await self.prepare(names)
        return {name: self._ready[name].api_key for name in dict.fromkeys(names)}

    def use_keys(self, keys: Mapping[str, str | None]) -> None:
        """Providers ready with the keys another engine on this store resolved (the window's,
        whose cache its Providers dialog keeps current): an engine streaming on another
        thread reads no keyring and never keeps a key the user has replaced since."""
        for name, key in keys.items():
            config = self._config(name)
            cached = self._ready.get(name)
            if cached is None or cached.config != config or cached.api_key != key:
                self._ready[name] = self._make_provider(config, key)

    def target(self, ref: ModelRef, settings: GenerationSettings | None = None,
               variant: Variant | None = None) -> Target:
        settings = settings or GenerationSettings()
        if ref.provider == local_model.LOCAL_PROVIDER and settings.max_tokens is None:
            # The built-in 270M model rambles until its context is full; every surface (window,
            # CLI, suites, load) caps it the same way unless the user sets a limit.
            settings = replace(settings, max_tokens=local_model.DEFAULT_MAX_TOKENS)
        return Target(ref, self.provider(ref.provider), settings, variant)

    # --- saving, keys, removing ---------------------------------------------------------

    def save_provider(self, config: ProviderConfig, *, api_key: str | None = None, new: bool) -> None:
        """Add or update a provider; a key given goes to the OS keyring, never the store.
        All or nothing: when the keyring cannot keep the key, the store is put back as it was
        (a new provider removed, an edited one restored) and KeyStoreError raised, so no
        provider is ever left saved without the key it was given."""
        problem = base_url_problem(config.kind, config.base_url)
        if problem:
            raise EngineError(problem)
        previous = None if new else self._records.get(config.name)
        try:
            if new:
                self._records.add(config)
            else:
                self._records.update(config)
        except StoreError as exc:
            raise EngineError(str(exc)) from None
        self._ready.pop(config.name, None)
        if api_key:
            try:
                set_api_key(config.name, api_key)
            except KeyStoreError as exc:
                if previous is None:
                    self._records.remove(config.name)
                    self._unkept_keys.pop(config.name, None)
                else:  # the old settings and old key stand; a Test must not vouch for the new key
                    self._records.update(previous)
                    self._unkept_keys[config.name] = str(exc)
                raise
            self._unkept_keys.pop(config.name, None)

    def set_provider_key(self, name: str, api_key: str) -> None:
        """Keep `api_key` for the saved provider `name` in the OS keyring (KeyStoreError if
        no keyring can); EngineError when there is no such provider."""
        if self._records.get(name) is None:
            raise EngineError(f"no provider named {name!r}")
        set_api_key(name, api_key)
        self._ready.pop(name, None)
        self._unkept_keys.pop(name, None)

    def unkept_key(self, name: str) -> str | None:
        """Why the key last given for provider `name` was not kept, while no key from its
        environment variable stands in for it; None when nothing was lost."""
        why = self._unkept_keys.get(name)
        config = self._records.get(name) if why else None
        if config is not None and env_key(config):
            return None
        return why

    def remove_provider(self, name: str) -> None:
        if not self._records.remove(name):
            raise EngineError(f"no provider named {name!r}")
        delete_api_key(name)
        self._ready.pop(name, None)
        self._unkept_keys.pop(name, None)

    # --- models -------------------------------------------------------------------------

    def configured_models(self) -> list[ModelRef]:
        return [ModelRef(p, m) for p, m in self._records.models()]

    def add_model(self, ref: ModelRef) -> None:
        self._records.add_model(ref.provider, ref.model)

    def remove_model(self, ref: ModelRef) -> None:
        self._records.remove_model(ref.provider, ref.model)

    def takes_images(self, ref: ModelRef) -> tuple[bool | None, str]:
        """Whether `ref` takes images, and on whose word: the user's (set per model) first,
        else its vendor family's (desk.core.vision); (None, why) when neither says."""
        said = self._records.takes_images(ref.provider, ref.model)
        if said is not None:
            return said, f"{ref} {'takes' if said else 'does not take'} images (set for the model)"
        family = family_takes_images(ref.model)
        if family is not None:
            return family, f"{ref} {'takes' if family else 'does not take'} images (its model family)"
        return None, (f"desk does not know whether {ref} takes images "
                      f"(say so with: desk provider images {ref} yes|no)")

    async def images_support(self, ref: ModelRef) -> tuple[bool | None, str]:
        """As takes_images, with the server's own word (Ollama's capabilities) before the
        model family's: the user's, the server's, the family's."""
        if self._records.takes_images(ref.provider, ref.model) is None:
            try:
                await self.prepare([ref.provider])  # its key read off the loop
                served = await self.provider(ref.provider).takes_images(ref.model)
            except (EngineError, ProviderError):
                served = None
            if served is not None:
                return served, f"{ref} {'takes' if served else 'does not take'} images (its server says so)"
        return self.takes_images(ref)

    def set_takes_images(self, ref: ModelRef, takes: bool | None) -> None:
        """Say whether `ref` takes images (None: go by its model family)."""
        self._config(ref.provider)  # EngineError for a provider that does not exist
        try:
            self._records.set_takes_images(ref.provider, ref.model, takes)
        except StoreError as exc:
            raise EngineError(str(exc)) from None

    async def list_models(self, provider_name: str) -> list[str]:
        """The models the provider serves now (its own list, over the network)."""
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

    # --- prices -------------------------------------------------------------------------

    def price(self, ref: ModelRef) -> tuple[Price | None, str | None]:
        """The user's own price for a model, and where the effective price comes from."""
        config = self._records.get(ref.provider)
        own = self._prices.get(ref.provider, ref.model)
        source = self._pricer.source(config, ref.model) if config else None
        return own, source

    def set_price(self, ref: ModelRef, price: Price | None) -> None:
        self._pricer.forget()  # a run reads its models' prices again when it starts
        if price is None:
            self._prices.delete(ref.provider, ref.model)
        else:
            self._prices.set(ref.provider, ref.model, price)

    def own_prices(self) -> list[tuple[ModelRef, Price]]:
        """The prices the user set, which win over the catalog."""
        return [(ModelRef(provider, model), price) for provider, model, price in self._prices.all()]

    def delete_price(self, ref: ModelRef) -> bool:
        """Forget the user's own price for `ref`; False when there was none."""
        self._pricer.forget()
        return self._prices.delete(ref.provider, ref.model)

    def set_prices(self, rows: Sequence[tuple[ModelRef, Price]]) -> None:
        """Set many own prices (a team's CSV), all or nothing when a provider is unknown."""
        unknown = sorted({ref.provider for ref, _ in rows if self._records.get(ref.provider) is None})
        if unknown:
            raise UnknownProviders(unknown)
        self._pricer.forget()
        for ref, price in rows:
            self._prices.set(ref.provider, ref.model, price)

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

        # The start-up preload installs the copy fetched earlier: let it finish first, so it
        # cannot put that older copy back over the one fetched here.
        await asyncio.to_thread(wait_for_preload)
        try:
            info = await update(self._client, url or DEFAULT_URL)
        except PriceDataError as exc:
            raise EngineError(str(exc)) from None
        return info.description

    # --- local servers: discovered ones and the built-in model --------------------------

    def _free_name(self, name: str) -> str:
        taken = {p.name for p in self._records.all()}
        if name not in taken:
            return name
        n = 2
        while f"{name}-{n}" in taken:
            n += 1
        return f"{name}-{n}"

    def add_found(self, found: Found) -> str:
        """Save a found server as a provider (no key) with its models; return the name used
        (the server's own name, or NAME-2, NAME-3... if that one is taken)."""
        name = self._free_name(found.name)
        self.save_provider(ProviderConfig(name, found.kind, found.base_url), new=True)
        for model in found.models:
            self.add_model(ModelRef(name, model))
        return name

    def register_local(self, port: int) -> ModelRef:
        """Add (or point at `port`) the provider for the built-in model; no key is involved."""
        exists = self._records.get(local_model.LOCAL_PROVIDER) is not None
        self.save_provider(local_model.provider_config(port), new=not exists)
        return self.register_local_existing()

    def register_local_existing(self) -> ModelRef:
        """The built-in model on its (already stored) provider, added to the models if missing."""
        ref = local_model.local_model_ref()
        if ref not in self.configured_models():
            self.add_model(ref)
        return ref

    async def ensure_local(self, current: local_model.LocalServer | None = None,
                           timeout: float = 120.0) -> tuple[ModelRef, local_model.LocalServer | None]:
        """Make the built-in model answer: keep a server that already does (ours, or a
        `desk local serve` in a terminal), else start one and point the provider at it.
        Returns the model and the server this call started (None if it started nothing)."""
        if current is not None and current.alive():
            return local_model.local_model_ref(), current
        config = self._records.get(local_model.LOCAL_PROVIDER)
        if config is not None and await local_model.answering(config.base_url):
            return self.register_local_existing(), None
        reason = local_model.missing()
        if reason:
            raise local_model.LocalModelError(reason)
        # Assembling the weights (first use) copies and hashes ~250 MB: not on the caller's loop.
        server = await asyncio.to_thread(local_model.start, None)
        try:
            await local_model.wait_ready(server, timeout)
        except BaseException:
            server.stop()
            raise
        return self.register_local(server.port), server
