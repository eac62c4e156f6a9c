"""The settings dialog's state and rules, without Qt: which provider is being edited, what is
unsaved, the form's validation, saving and removing a provider, its models and its prices,
and the sentence each action ends with.

The widget (desk/ui/settings_dialog.py) lays this out and binds it; tests drive it without a
window. Changes are announced with plain callbacks (desk.engine.tab_events).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import NamedTuple

from desk.core.pricing import Price
from desk.core.provider import ProviderConfig
from desk.core.trial import ModelRef
from desk.engine.errors import EngineError
from desk.engine.keys import KeyStoreError, get_api_key, secret_store
from desk.engine.services.providers import (
    KINDS,
    ProviderError,
    ProviderService,
    default_base_url,
    takes_api_version,
)
from desk.engine.tab_events import Event

SOURCE_TEXT = {"user": "yours", "catalog": "catalog", None: "no price"}
PRICE_COLUMNS = ("Input $/Mtok", "Cached input $/Mtok", "Output $/Mtok")


class Said(NamedTuple):
    """A status line: its text and its kind ("ok", "error", "info" or "busy")."""

    text: str
    kind: str = "ok"


@dataclass(frozen=True)
class ProviderForm:
    """What the connection form holds, as typed."""

    name: str
    kind: str
    base_url: str
    key_env: str = ""
    api_version: str = ""


def fmt_price(value: float | None) -> str:
    return "" if value is None else f"{value:.10g}"


def parse_price(text: str, model: str, column: str) -> float | None:
    """A cell's price in $/Mtok; None when empty. ValueError with a sentence when invalid."""
    cleaned = text.strip().removeprefix("$").strip()
    if not cleaned:
        return None
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"{model}: {column} {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{model}: {column} must be a finite number")
    if value < 0:
        raise ValueError(f"{model}: {column} cannot be negative")
    return value


def row_price(model: str, texts: tuple[str, str, str]) -> Price | None:
    """The price typed in a row (input, cached input, output); None if all empty."""
    inp, cached, out = (parse_price(t, model, c) for t, c in zip(texts, PRICE_COLUMNS, strict=True))
    if inp is None and cached is None and out is None:
        return None
    if inp is None or out is None:
        raise ValueError(f"{model}: give both the input and the output price (cached input is optional)")
    return Price(input_per_mtok=inp, output_per_mtok=out, cached_input_per_mtok=cached)


def url_for_kind(kind: str, url: str) -> str | None:
    """Picking a kind fills that vendor's base URL unless the user typed their own."""
    defaults = {default_base_url(k).rstrip("/") for k in KINDS}
    url = url.strip()
    return default_base_url(kind) if not url or url.rstrip("/") in defaults else None


def key_env_hint(var: str) -> Said | None:
    """What naming an environment variable for the key means here; None when none is named."""
    var = var.strip()
    if not var:
        return None
    if os.environ.get(var):
        return Said(f"${var} is set here: its value is used as the key.", "ok")
    return Said(f"${var} is not set here: the stored key, if any, is used.", "info")


class SettingsModel:
    """The provider being edited and what is unsaved about it; every rule of the dialog."""

    def __init__(self, providers: ProviderService) -> None:
        self.providers = providers
        self.current: ProviderConfig | None = None  # None: the form holds a new provider
        self.form_dirty = False
        self.models_dirty = False
        self.prices_dirty = False
        self.saved_prices: dict[str, Price | None] = {}
        self.providers_changed = Event()
        self.models_changed = Event()

    def current_name(self) -> str | None:
        return self.current.name if self.current else None

    def select(self, config: ProviderConfig | None) -> None:
        """Edit `config` (None: a new provider); the form is clean again."""
        self.current = config
        self.form_dirty = False

    def unsaved(self) -> list[str]:
        return [part for part, dirty in (("provider settings", self.form_dirty), ("model choices", self.models_dirty),
                                         ("prices", self.prices_dirty)) if dirty]

    def discard_question(self) -> str | None:
        """The question to ask before unsaved edits go; None when nothing is unsaved."""
        unsaved = self.unsaved()
        if not unsaved:
            return None
        who = self.current.name if self.current else "the new provider"
        return f"Discard unsaved {', '.join(unsaved)} of {who}?"

    # --- the connection form ------------------------------------------------------------

    def config_from(self, form: ProviderForm) -> ProviderConfig:
        """The form as a config; ValueError with a readable sentence when invalid."""
        name = form.name.strip()
        if not name:
            raise ValueError("give the provider a name, e.g. openai or local")
        api_version = form.api_version.strip() if takes_api_version(form.kind) else ""
        return ProviderConfig(
            name=name,
            kind=form.kind,
            base_url=form.base_url.strip(),
            key_env=form.key_env.strip() or None,
            api_version=api_version or None,
            headers=self.current.headers if self.current else (),
        )

    def save(self, form: ProviderForm, key: str | None) -> tuple[Said, bool]:
        """Validate and save the form (all or nothing); the line to say, and whether the key
        given was lost for want of a keyring (then nothing was saved either)."""
        try:
            config = self.config_from(form)
        except ValueError as exc:
            return Said(f"Not saved: {exc}", "error"), False
        new = self.current is None
        if new and self.providers.configs.get(config.name) is not None:
            return Said(f"Not saved: a provider named {config.name!r} already exists; pick another name.",
                        "error"), False
        try:
            self.providers.save_provider(config, api_key=key, new=new)
        except KeyStoreError as exc:  # all or nothing (the service's rule): nothing was saved
            return Said(f"Not saved: the key was NOT kept: {exc}. Put the key in an environment variable "
                        "and name that variable under “Key from environment variable”.", "error"), True
        except Exception as exc:
            return Said(f"Not saved: {exc}", "error"), False
        self.select(config)
        self.providers_changed.emit()
        return Said("Saved." + (" Key stored in the OS keyring." if key else ""), "ok"), False

    def key_placeholder(self, config: ProviderConfig | None) -> str:
        """What the key field says: whether a key is stored, or that none can be kept. It asks
        the keyring, which can be slow: call it off the event loop."""
        try:
            usable = secret_store().usable
            stored = config is not None and get_api_key(dataclasses.replace(config, key_env=None)) is not None
        except Exception:  # a broken keyring only changes a placeholder
            usable = stored = False
        if not usable:
            return "no OS keyring here: a key typed here cannot be kept · use “Key from environment variable”"
        if config is None:
            return "paste the API key (kept in the OS keyring)"
        return "a key is stored · type a new one to replace it" if stored else "no key stored · local servers need none"

    @staticmethod
    def remove_question(name: str) -> str:
        return (f"Remove {name}? Its models and your prices for them go, and its key is deleted from "
                "the OS keyring. Past trials and their answers stay.")

    def remove(self, name: str) -> Said:
        try:
            self.providers.remove_provider(name)
        except Exception as exc:
            return Said(f"Not removed: {exc}", "error")
        self.form_dirty = self.models_dirty = self.prices_dirty = False
        self.providers_changed.emit()
        self.models_changed.emit()
        return Said(f"Removed {name}.", "ok")

    async def test(self, name: str) -> Said:
        try:
            await self.providers.prepare([name])  # the keyring, off the event loop
            ms = await self.providers.test_provider(name)
        except (ProviderError, EngineError) as exc:
            return Said(str(exc), "error")
        except Exception as exc:
            return Said(f"{type(exc).__name__}: {exc}", "error")
        return Said(f"OK · {ms:.0f} ms", "ok")

    # --- models -------------------------------------------------------------------------

    def configured(self, name: str) -> list[str]:
        return [r.model for r in self.providers.configured_models() if r.provider == name]

    async def served_models(self, name: str) -> list[str] | Said:
        """The models the provider lists now, or the error line."""
        try:
            await self.providers.prepare([name])  # the keyring, off the event loop
            return await self.providers.list_models(name)
        except (ProviderError, EngineError) as exc:
            return Said(str(exc), "error")
        except Exception as exc:
            return Said(f"{type(exc).__name__}: {exc}", "error")

    @staticmethod
    def listed_line(listed: list[str], configured: list[str]) -> Said:
        unlisted = len([m for m in configured if m not in set(listed)])
        note = f" · {unlisted} configured model(s) not in the server's list" if unlisted else ""
        return Said(f"{len(listed)} models listed · {len(configured)} in the picker{note}. "
                    "Check the ones you want, then Add checked.", "ok")

    def apply_models(self, name: str, checked: dict[str, bool]) -> Said:
        """Make the provider's models the checked ones."""
        configured = set(self.configured(name))
        to_add = sorted(m for m, on in checked.items() if on and m not in configured)
        to_remove = sorted(m for m, on in checked.items() if not on and m in configured)
        try:
            for model in to_add:
                self.providers.add_model(ModelRef(name, model))
            for model in to_remove:
                self.providers.remove_model(ModelRef(name, model))
        except Exception as exc:
            return Said(f"Not all changes were saved: {exc}", "error")
        self.models_dirty = False
        if to_add or to_remove:
            self.models_changed.emit()
        parts = [f"{verb} {len(done)}" for verb, done in (("added", to_add), ("removed", to_remove)) if done]
        return Said((", ".join(parts) or "nothing changed").capitalize() + ".", "ok")

    def add_model(self, name: str, model: str) -> Said:
        """Add a model typed by hand."""
        model = model.strip()
        if not model:
            return Said("Type a model name first, e.g. gpt-4o-mini.", "error")
        if any(ch.isspace() for ch in model):
            return Said(f"{model!r}: a model name has no spaces.", "error")
        try:
            self.providers.add_model(ModelRef(name, model))
        except Exception as exc:
            return Said(f"Not added: {exc}", "error")
        self.models_changed.emit()
        return Said(f"Added {name}/{model}.", "ok")

    # --- prices -------------------------------------------------------------------------

    def price_rows(self, name: str) -> list[tuple[str, Price | None, str]]:
        """(model, your price, where the price in use comes from) per configured model."""
        rows = []
        self.saved_prices = {}
        for model in self.configured(name):
            own, source = self.providers.price(ModelRef(name, model))
            self.saved_prices[model] = own
            rows.append((model, own, SOURCE_TEXT.get(source, str(source))))
        self.prices_dirty = False
        return rows

    def save_prices(self, name: str, rows: list[tuple[str, tuple[str, str, str]]]) -> tuple[Said, bool]:
        """Save every changed row, or none: any invalid cell is said and nothing is written.
        The line to say, and whether the store was written to (the table then shows it again)."""
        prices: list[tuple[str, Price | None]] = []
        errors = []
        for model, texts in rows:
            try:
                prices.append((model, row_price(model, texts)))
            except ValueError as exc:
                errors.append(str(exc))
        if errors:
            return Said("Nothing saved: " + "; ".join(errors), "error"), False
        changed = [(m, p) for m, p in prices if p != self.saved_prices.get(m)]
        try:
            for model, price in changed:
                self.providers.set_price(ModelRef(name, model), price)
        except Exception as exc:
            return Said(f"Not all prices were saved: {exc}", "error"), True
        return Said(f"Saved {len(changed)} price(s)." if changed else "No price changed.", "ok"), True

    def clear_price(self, name: str, model: str) -> Said:
        try:
            self.providers.set_price(ModelRef(name, model), None)
        except Exception as exc:
            return Said(f"Not cleared: {exc}", "error")
        return Said(f"Cleared your price for {model}.", "ok")
