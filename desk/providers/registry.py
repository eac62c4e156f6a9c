"""Which class speaks which protocol; one place, no if-chains elsewhere."""

from __future__ import annotations

import httpx

from desk.core.provider import ProviderConfig
from desk.providers.anthropic import AnthropicProvider
from desk.providers.base import Provider
from desk.providers.gemini import GeminiProvider
from desk.providers.ollama import OllamaProvider
from desk.providers.openai import OpenAIProvider

PROVIDER_CLASSES: dict[str, type[Provider]] = {
    cls.kind: cls for cls in (OpenAIProvider, AnthropicProvider, GeminiProvider, OllamaProvider)
}
KINDS = tuple(PROVIDER_CLASSES)


def provider_class(kind: str) -> type[Provider]:
    try:
        return PROVIDER_CLASSES[kind]
    except KeyError:
        raise ValueError(f"unknown provider kind {kind!r}; choose one of {', '.join(KINDS)}") from None


def make_provider(config: ProviderConfig, client: httpx.AsyncClient, api_key: str | None) -> Provider:
    return provider_class(config.kind)(config, client, api_key)


def default_base_url(kind: str) -> str:
    return provider_class(kind).default_base_url
