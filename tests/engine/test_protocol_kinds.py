"""The engine asks desk.providers.registry about a kind: which catalogue price a model gets
follows its protocol's own declaration (the vendor's catalogue id where it has one, the
base URL for OpenAI-compatible hosts, none for local servers), and a kind this desk does
not speak (a newer desk's store) is one clear error when used, not a crash on loading."""

from __future__ import annotations

import asyncio

import pytest

from desk.core.provider import ProviderConfig
from desk.engine.pricing import Pricer
from desk.engine.session import Engine, EngineError

CASES = [
    ("anthropic", "https://api.anthropic.com", "claude-sonnet-4-5", "catalog"),
    ("anthropic", "https://proxy.corp.example/anthropic", "claude-sonnet-4-5", "catalog"),  # by id, not URL
    ("gemini", "https://generativelanguage.googleapis.com", "gemini-2.5-flash", "catalog"),
    ("openai", "https://api.openai.com/v1", "gpt-4o", "catalog"),
    ("openai", "http://127.0.0.1:8080/v1", "gpt-4o", None),  # a local server's "gpt-4o" is not OpenAI's
    ("ollama", "http://localhost:11434", "llama3.2", None),
    ("cohere", "https://api.cohere.example", "command-r", None),  # e.g. from a newer desk's store
]


@pytest.mark.parametrize(("kind", "base_url", "model", "source"), CASES)
def test_catalogue_price_follows_the_protocol_declaration(kind, base_url, model, source):
    assert Pricer().source(ProviderConfig("p", kind, base_url), model) == source


def test_a_stored_provider_of_an_unknown_kind_is_refused_when_used(store):
    store.providers.add(ProviderConfig("co", "cohere", "https://api.cohere.example"))

    async def go():
        async with Engine(store) as engine:
            assert [p.name for p in engine.providers.configs.all()] == ["co"]
            with pytest.raises(EngineError) as caught:
                engine.providers.provider("co")
            return str(caught.value)

    assert asyncio.run(go()) == "provider co: unknown provider kind 'cohere'; choose one of openai, anthropic, gemini, ollama"


def test_a_provider_of_an_unknown_kind_cannot_be_saved(store):
    async def go():
        async with Engine(store) as engine:
            with pytest.raises(EngineError, match="unknown provider kind 'cohere'"):
                engine.providers.save_provider(ProviderConfig("co", "cohere", "https://api.cohere.example"), new=True)
        return store.providers.all()

    assert asyncio.run(go()) == []
