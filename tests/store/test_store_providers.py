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
    provider_id = store.add_provider(OPENAI)
    assert ULID.match(provider_id)
    store.add_provider(AZURE)
    assert store.get_provider("azure-eu") == AZURE
    assert store.list_providers() == [AZURE, OPENAI]  # by name
    assert store.get_provider("nope") is None

    moved = ProviderConfig("openai", "openai", "http://127.0.0.1:8080/v1", headers=(("X", "1"),))
    store.update_provider(moved)
    assert store.get_provider("openai") == moved
    row = store.db.execute("SELECT id FROM providers WHERE name = 'openai'").fetchone()
    assert row[0] == provider_id  # updating keeps the identity

    assert store.remove_provider("openai") is True
    assert store.remove_provider("openai") is False
    assert [p.name for p in store.list_providers()] == ["azure-eu"]


def test_duplicate_provider(store: Store) -> None:
    store.add_provider(OPENAI)
    with pytest.raises(StoreError, match=r"^provider openai already exists$"):
        store.add_provider(OPENAI)


def test_update_unknown_provider(store: Store) -> None:
    with pytest.raises(StoreError, match="no provider named openai"):
        store.update_provider(OPENAI)


def test_models(store: Store) -> None:
    store.add_provider(OPENAI)
    store.add_provider(AZURE)
    store.add_model("openai", "gpt-4o")
    store.add_model("openai", "gpt-4o")  # idempotent
    store.add_model("openai", "gpt-4.1-mini")
    store.add_model("azure-eu", "deployments/my-gpt")
    assert store.list_models() == [
        ("azure-eu", "deployments/my-gpt"),
        ("openai", "gpt-4.1-mini"),
        ("openai", "gpt-4o"),
    ]
    assert store.list_models("openai") == [("openai", "gpt-4.1-mini"), ("openai", "gpt-4o")]
    assert store.remove_model("openai", "gpt-4o") is True
    assert store.remove_model("openai", "gpt-4o") is False
    assert store.list_models("openai") == [("openai", "gpt-4.1-mini")]
    with pytest.raises(StoreError, match="no provider named ghost"):
        store.add_model("ghost", "m")


def test_prices_upsert(store: Store) -> None:
    store.add_provider(OPENAI)
    store.set_price("openai", "gpt-4o", Price(2.5, 10.0, 1.25))
    first_id = store.db.execute("SELECT id FROM prices").fetchone()[0]
    assert ULID.match(first_id)
    store.set_price("openai", "gpt-4o", Price(3, 12))
    assert store.get_price("openai", "gpt-4o") == Price(3.0, 12.0, None)
    assert store.db.execute("SELECT id FROM prices").fetchall() == [(first_id,)]
    store.set_price("openai", "a-model", Price(0, 0))
    assert store.list_prices() == [
        ("openai", "a-model", Price(0.0, 0.0)),
        ("openai", "gpt-4o", Price(3.0, 12.0)),
    ]
    assert store.get_price("openai", "missing") is None
    assert store.delete_price("openai", "a-model") is True
    assert store.delete_price("openai", "a-model") is False
    with pytest.raises(StoreError, match="no provider named ghost"):
        store.set_price("ghost", "m", Price(1, 1))


def test_removing_a_provider_removes_its_models_and_prices(store: Store) -> None:
    store.add_provider(OPENAI)
    store.add_model("openai", "gpt-4o")
    store.set_price("openai", "gpt-4o", Price(2.5, 10))
    store.remove_provider("openai")
    assert store.list_models() == []
    assert store.list_prices() == []
