"""The real main window on a fresh store, wired to a loopback vendor server."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("PySide6")

import qasync

from desk.core.pricing import Price
from desk.core.provider import ProviderConfig
from desk.engine.session import Engine
from desk.store.db import open_store
from tests.ui.windows import open_window
from tests.vendor_server import VendorServer


@pytest.fixture
def vendor():
    with VendorServer() as server:
        yield server


@pytest.fixture
def mw_loop(qapp):
    loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def engine(tmp_path, mw_loop):
    """An Engine on a fresh store, without a window (dialogs on their own), closed on the loop."""
    store = open_store(tmp_path / "engine.db")
    eng = Engine(store)
    yield eng
    mw_loop.run_until_complete(eng.aclose())
    store.close()


@pytest.fixture
def window(qtbot, tmp_path, vendor, mw_loop):
    store = open_store(tmp_path / "gui.db")
    store.providers.add(ProviderConfig("openai", "openai", vendor.base_url + "/v1"))
    store.providers.add(ProviderConfig("claude", "anthropic", vendor.base_url))
    store.providers.add(ProviderConfig("local", "ollama", vendor.base_url))
    for provider, model in [("openai", "gpt-4o-mini"), ("claude", "claude-sonnet-4-5"), ("local", "llama3.2")]:
        store.providers.add_model(provider, model)
    store.prices.set("openai", "gpt-4o-mini", Price(0.15, 0.6))
    with open_window(qtbot, mw_loop, Engine(store), tmp_path) as win:
        yield win
