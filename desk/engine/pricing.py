"""Price lookup: the user's own prices in the store win, then the genai-prices catalog.

genai-prices ships its data and works offline (desk never asks it to update), knows
cached-input and tiered prices, and matches OpenAI-compatible hosts by base URL, so a
local server that happens to serve a model called "gpt-4o" is not priced as OpenAI.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from desk.core.pricing import NO_PRICE, NO_USAGE, Cost, Price, cost_of
from desk.core.provider import ProviderConfig
from desk.core.response import Usage

PriceLookup = Callable[[str, str], Price | None]


class Pricer:
    """Prices answers: the user's own price (`overrides`, a store read) else the catalog's.

    A run first `hold`s its models' prices, read once on a worker thread; its requests
    are then priced from memory, so no price lookup reads the store on the event loop
    (a load run makes thousands of requests). `forget` drops what was held when the
    user's prices change."""

    def __init__(self, overrides: PriceLookup | None = None) -> None:
        self._overrides = overrides or (lambda provider, model: None)
        self._known: dict[tuple[str, str, str], bool] = {}
        self._held: dict[tuple[str, str], Price | None] = {}

    def hold(self, models: Iterable[tuple[ProviderConfig, str]]) -> None:
        """Read these (provider, model)s' own prices now, and load the catalog's: blocking
        work for a worker thread, before a run. Held until the next `hold` or `forget`."""
        for config, model in models:
            self._held[(config.name, model)] = self._overrides(config.name, model)
            self._in_catalog(config, model)

    def forget(self) -> None:
        """Drop the held prices (the user's own changed): the next lookup reads them again."""
        self._held = {}

    def _override(self, provider: str, model: str) -> Price | None:
        key = (provider, model)
        held = self._held
        return held[key] if key in held else self._overrides(provider, model)

    def cost(self, config: ProviderConfig, model: str, usage: Usage) -> Cost:
        """The cost of `usage` on this model, or a Cost with usd=None saying why not."""
        price = self._override(config.name, model)
        if price is not None:
            return cost_of(usage, price, "user")
        if not self._in_catalog(config, model):
            return NO_PRICE
        if usage.input_tokens is None or usage.output_tokens is None:
            return NO_USAGE
        result = _catalog_price(config, model, usage)
        return Cost(float(result), "catalog") if result is not None else NO_PRICE

    def source(self, config: ProviderConfig, model: str) -> str | None:
        """Where this model's price comes from: "user", "catalog" or None."""
        if self._override(config.name, model) is not None:
            return "user"
        return "catalog" if self._in_catalog(config, model) else None

    def _in_catalog(self, config: ProviderConfig, model: str) -> bool:
        key = (config.kind, config.base_url, model)
        if key not in self._known:
            self._known[key] = _catalog_price(config, model, Usage(1, 1)) is not None
        return self._known[key]


_preload_started = threading.Event()
_preload_done = threading.Event()


def preload_catalog() -> None:
    """Load the price catalog (~130 ms of parsing) and probe the keyring in a background
    thread, so the first trial neither freezes the window nor delays the CLI's output."""
    if _preload_started.is_set():
        return
    _preload_started.set()

    def load() -> None:
        # Best effort: whatever fails here (a command that ends while the thread still
        # imports, say) the first real price lookup loads again, on its own thread.
        try:
            _warm_up()
        except Exception:
            pass
        finally:
            _preload_done.set()  # wait_for_preload() returns as soon as this is done

    def _warm_up() -> None:
        from desk.engine.price_data import current_info, load_cached

        load_cached()  # newer price data fetched earlier, if any
        current_info()  # named now, so the window's status bar need not walk the catalog
        _catalog_price(ProviderConfig("warmup", "anthropic", "https://api.anthropic.com"),
                       "claude-sonnet-4-5", Usage(1, 1))
        import keyring  # the keyring backend is probed on first use, also slow

        keyring.get_keyring()

    threading.Thread(target=load, name="desk-price-catalog", daemon=True).start()


def wait_for_preload(timeout: float = 10.0) -> bool:
    """Block until the background preload has finished (a timed run must not share the
    interpreter with it: the GIL would add its work to the latencies being measured)."""
    return not _preload_started.is_set() or _preload_done.wait(timeout)


def _catalog_price(config: ProviderConfig, model: str, usage: Usage) -> Any:
    from desk.providers.registry import catalog_id, list_priced

    if not list_priced(config.kind):
        return None  # local models have no list price; the user can set one
    try:
        from genai_prices import Usage as GUsage
        from genai_prices import calc_price
    except ImportError:  # pragma: no cover - a dependency, but never fatal
        return None
    kwargs: dict[str, Any] = {}
    vendor = catalog_id(config.kind)
    if vendor is not None:
        kwargs["provider_id"] = vendor
    else:
        kwargs["provider_api_url"] = config.base_url
    g_usage = GUsage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cached_input_tokens or 0,
    )
    try:
        return calc_price(g_usage, model_ref=model, **kwargs).total_price
    except (LookupError, ValueError):
        return None
