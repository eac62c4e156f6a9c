from __future__ import annotations

import re

import pytest

from desk.core.pricing import Price
from desk.core.provider import ProviderConfig
from desk.store import Store, StoreError

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")

OPENAI = ProviderConfig("openai", "openai", "https://api.openai.com/v1", key_env="OPENAI_API_KEY")
AZURE = ProviderConfig(
    "azure-eu",
    "openai",
    "https://example.openai.azure.com/openai",
    api_version="2024-10-21",
    headers=(("X-Team", "a"), ("X-Team", "b"), ("Accept-Language", "fr")),
)


def test_provider_crud(store: Store) -> None:
    provider_id = store.providers.add(OPENAI)
    assert ULID.match(provider_id)
    store.providers.add(AZURE)
    assert store.providers.get("azure-eu") == AZURE
    assert store.providers.all() == [AZURE, OPENAI]  # by name
    assert store.providers.get("nope") is None

    moved = ProviderConfig("openai", "openai", "http://127.0.0.1:8080/v1", headers=(("X", "1"),))
    store.providers.update(moved)
    assert store.providers.get("openai") == moved
    row = store.db.execute("SELECT id FROM providers WHERE name = 'openai'").fetchone()
    assert row[0] == provider_id  # updating keeps the identity

    assert store.providers.remove("openai") is True
    assert store.providers.remove("openai") is False
    assert [p.name for p in store.providers.all()] == ["azure-eu"]


def test_duplicate_provider(store: Store) -> None:
    store.providers.add(OPENAI)
    with pytest.raises(StoreError, match=r"^provider openai already exists$"):
        store.providers.add(OPENAI)


def test_update_unknown_provider(store: Store) -> None:
    with pytest.raises(StoreError, match="no provider named openai"):
        store.providers.update(OPENAI)


def test_models(store: Store) -> None:
    store.providers.add(OPENAI)
    store.providers.add(AZURE)
    store.providers.add_model("openai", "gpt-4o")
    store.providers.add_model("openai", "gpt-4o")  # idempotent
    store.providers.add_model("openai", "gpt-4.1-mini")
    store.providers.add_model("azure-eu", "deployments/my-gpt")
    assert store.providers.models() == [
        ("azure-eu", "deployments/my-gpt"),
        ("openai", "gpt-4.1-mini"),
        ("openai", "gpt-4o"),
    ]
    assert store.providers.models("openai") == [("openai", "gpt-4.1-mini"), ("openai", "gpt-4o")]
    assert store.providers.remove_model("openai", "gpt-4o") is True
    assert store.providers.remove_model("openai", "gpt-4o") is False
    assert store.providers.models("openai") == [("openai", "gpt-4.1-mini")]
    with pytest.raises(StoreError, match="no provider named ghost"):
        store.providers.add_model("ghost", "m")


def test_prices_upsert(store: Store) -> None:
    store.providers.add(OPENAI)
    store.prices.set("openai", "gpt-4o", Price(2.5, 10.0, 1.25))
    first_id = store.db.execute("SELECT id FROM prices").fetchone()[0]
    assert ULID.match(first_id)
    store.prices.set("openai", "gpt-4o", Price(3, 12))
    assert store.prices.get("openai", "gpt-4o") == Price(3.0, 12.0, None)
    assert store.db.execute("SELECT id FROM prices").fetchall() == [(first_id,)]
    store.prices.set("openai", "a-model", Price(0, 0))
    assert store.prices.all() == [
        ("openai", "a-model", Price(0.0, 0.0)),
        ("openai", "gpt-4o", Price(3.0, 12.0)),
    ]
    assert store.prices.get("openai", "missing") is None
    assert store.prices.delete("openai", "a-model") is True
    assert store.prices.delete("openai", "a-model") is False
    with pytest.raises(StoreError, match="no provider named ghost"):
        store.prices.set("ghost", "m", Price(1, 1))


def test_removing_a_provider_removes_its_models_and_prices(store: Store) -> None:
    store.providers.add(OPENAI)
    store.providers.add_model("openai", "gpt-4o")
    store.prices.set("openai", "gpt-4o", Price(2.5, 10))
    store.providers.remove("openai")
    assert store.providers.models() == []
    assert store.prices.all() == []
