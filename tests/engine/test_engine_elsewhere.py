"""`Engine.elsewhere()`: an engine like the window's on a connection of its own, and the keys
it is handed (`use_keys`), so a streaming thread never reads the keyring and never keeps a
key the window's Providers dialog has replaced."""

from __future__ import annotations

import asyncio
import sqlite3

import keyring
import pytest

from desk.core.provider import ProviderConfig
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.session import Engine
from desk.store import open_store
from desk.store.errors import StoreError


def test_elsewhere_opens_the_same_store_with_the_same_policy_on_its_own_connection(tmp_path):
    store = open_store(tmp_path / "a.db")
    store.providers.add(ProviderConfig("p", "openai", "http://127.0.0.1:9/v1"))
    window = Engine(store, timeouts=Timeouts(total=42.0), retry=RetryPolicy(max_retries=5))

    async def go():
        async with window.elsewhere() as there:
            assert there.store is not window.store and there.store.path == window.store.path
            assert there.store.providers.get("p") is not None  # the same file
            assert there.timeouts.total == 42.0 and there.runner.retry.max_retries == 5
            assert there.client is not window.client
            return there.store

    try:
        other = asyncio.run(go())
        with pytest.raises(sqlite3.ProgrammingError):  # closed on leaving
            other.providers.get("p")
    finally:
        store.close()


def test_an_in_memory_store_cannot_be_streamed_from_elsewhere():
    store = open_store(":memory:")

    async def go():
        async with Engine(store).elsewhere():
            pass

    try:
        with pytest.raises(StoreError, match="in-memory"):
            asyncio.run(go())
    finally:
        store.close()


def test_keys_handed_over_replace_the_ones_held_without_reading_the_keyring(tmp_path):
    store = open_store(tmp_path / "a.db")
    store.providers.add(ProviderConfig("p", "openai", "http://127.0.0.1:9/v1"))
    window = Engine(store)
    window.providers.set_provider_key("p", "sk-first-0123456789")

    async def go():
        async with window.elsewhere() as there:
            there.providers.use_keys(await window.providers.resolved_keys(["p"]))
            first = there.providers.provider("p")
            assert first.api_key == "sk-first-0123456789"
            window.providers.set_provider_key("p", "sk-second-9876543210")
            keys = await window.providers.resolved_keys(["p"])
            keyring.delete_password("desk", "p")  # from here a keyring read would find nothing
            there.providers.use_keys(keys)
            second = there.providers.provider("p")
            there.providers.use_keys(keys)  # the same key again: the same ready provider
            assert there.providers.provider("p") is second
            return second.api_key

    try:
        assert asyncio.run(go()) == "sk-second-9876543210"
    finally:
        store.close()
