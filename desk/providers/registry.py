"""Which class speaks which protocol: the one list of protocols, no if-chains elsewhere.

Each protocol module declares what the rest of desk needs to know about it (its kind,
default base URL, the paths it adds, its price-catalogue id, how it lists models); the
answers here are read from those declarations.
"""

from __future__ import annotations

import httpx

from desk.core.provider import ProviderConfig, url_problem
from desk.providers.anthropic import AnthropicProvider
from desk.providers.base import Provider
from desk.providers.gemini import GeminiProvider
from desk.providers.ollama import OllamaProvider
from desk.providers.openai import OpenAIProvider

PROVIDER_CLASSES: dict[str, type[Provider]] = {
    cls.kind: cls for cls in (OpenAIProvider, AnthropicProvider, GeminiProvider, OllamaProvider)
}
KINDS = tuple(PROVIDER_CLASSES)


def unknown_kind(kind: str) -> str | None:
    """Why `kind` names no protocol, in one sentence; None if it names one."""
    if kind in PROVIDER_CLASSES:
        return None
    return f"unknown provider kind {kind!r}; choose one of {', '.join(KINDS)}"


def provider_class(kind: str) -> type[Provider]:
    try:
        return PROVIDER_CLASSES[kind]
    except KeyError:
        raise ValueError(unknown_kind(kind)) from None


def make_provider(config: ProviderConfig, client: httpx.AsyncClient, api_key: str | None) -> Provider:
    return provider_class(config.kind)(config, client, api_key)


def default_base_url(kind: str) -> str:
    return provider_class(kind).default_base_url


def base_url_problem(kind: str, base_url: str) -> str | None:
    """Why `base_url` cannot work for a provider of `kind`, in one sentence; None if it can.

    Checked when a provider is added or edited (stored ones are never rejected on load)."""
    return unknown_kind(kind) or url_problem(base_url, kind, provider_class(kind).added_paths)


def catalog_id(kind: str) -> str | None:
    """The vendor's id in the price catalogue; None: looked up by base URL instead."""
    cls = PROVIDER_CLASSES.get(kind)
    return cls.catalog_id if cls else None


def list_priced(kind: str) -> bool:
    """Whether models of this kind can have a list price (local servers' cannot, nor those
    of a kind this desk does not speak, such as one from a newer desk's store)."""
    cls = PROVIDER_CLASSES.get(kind)
    return cls.list_priced if cls else False
