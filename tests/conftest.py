"""Shared fixtures: isolate every test from the user's real store, keyring and proxies."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never reach beyond loopback, whatever the machine's proxy settings say.
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(_var, None)
os.environ["NO_PROXY"] = "*"
# pandas/datasets round trips read local files only; never let them ask a hub.
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Each test gets its own store path and an in-memory keyring."""
    monkeypatch.setenv("DESK_DB", str(tmp_path / "desk.db"))
    monkeypatch.setenv("DESK_PRICE_DATA", str(tmp_path / "prices.json"))  # never the user's copy
    import keyring
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def __init__(self):
            super().__init__()
            self.secrets = {}

        def get_password(self, service, username):
            return self.secrets.get((service, username))

        def set_password(self, service, username, password):
            self.secrets[(service, username)] = password

        def delete_password(self, service, username):
            self.secrets.pop((service, username), None)

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def _gui_collector(qapp):
    """As in the app (desk/ui/collector.py): once Qt objects exist, only the GUI thread
    collects garbage, never a vendor-server or load thread."""
    from desk.ui.collector import GuiThreadCollector

    collector = GuiThreadCollector(qapp).start()
    yield collector
    collector.stop()


@pytest.fixture(autouse=True)
def _gui_thread_collection(request):
    """For tests that use Qt: the app's collection policy, and their garbage (closed
    windows, timers in cycles) collected here on the main thread when they end."""
    if not {"qapp", "qtbot"} & set(request.fixturenames):
        yield
        return
    import gc

    request.getfixturevalue("_gui_collector")
    yield
    gc.collect()


@pytest.fixture(scope="module")
def server():
    """One scripted loopback vendor server per test module."""
    from tests.vendor_server import VendorServer

    with VendorServer() as s:
        yield s


@pytest.fixture
def srv(server):
    """The module's vendor server, with every script and record of earlier tests cleared."""
    server.reset()
    return server


@pytest.fixture
def db(tmp_path):
    return tmp_path / "desk.db"  # the same path as $DESK_DB above, for in-process runs


@pytest.fixture
def parsed_on(monkeypatch):
    """The threads that fed bytes to an SSE decoder (every vendor but Ollama frames with it),
    in order: which thread parsed a run's stream."""
    import threading

    from desk.providers.framing import SSEDecoder

    threads: list[int] = []
    feed = SSEDecoder.feed

    def recording(self, chunk, at):
        threads.append(threading.get_ident())
        return feed(self, chunk, at)

    monkeypatch.setattr(SSEDecoder, "feed", recording)
    return threads


@pytest.fixture
def no_keyring():
    """The whole test on a machine with no OS keyring (tests/keyrings.py)."""
    from tests.keyrings import no_keyring as failing

    with failing():
        yield
