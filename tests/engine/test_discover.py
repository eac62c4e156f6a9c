"""Finding model servers on loopback: Ollama and OpenAI-compatible probes, and adding them."""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from desk.core.trial import ModelRef
from desk.engine.discover import DEFAULT_CANDIDATES, Found, describe_candidates, discover
from desk.engine.session import Engine
from tests.cli_helpers import closed_port
from tests.vendor_server import VendorServer

OLLAMA_MODELS = ("llama3.2:latest", "qwen2.5:0.5b")
OPENAI_MODELS = ("gpt-4o-mini", "gpt-4o", "o3-mini")


@pytest.fixture
def ollama():
    with VendorServer() as server:
        yield server


@pytest.fixture
def compatible():
    with VendorServer() as server:
        yield server


class _Html(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<html><body>not a model server</body></html>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def web_page():
    """Some other program on a loopback port: answers 200, but with HTML."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Html)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_defaults_are_the_servers_own_ports():
    assert DEFAULT_CANDIDATES == (
        ("ollama", "ollama", 11434), ("lmstudio", "openai", 1234),
        ("llamacpp", "openai", 8080), ("vllm", "openai", 8000),
    )
    assert describe_candidates() == "Ollama 11434, LM Studio 1234, llama.cpp 8080, vLLM 8000"


def test_finds_ollama_and_openai_compatible_servers_and_nothing_else(ollama, compatible, web_page):
    candidates = (
        ("ollama", "ollama", ollama.port),
        ("lmstudio", "openai", compatible.port),
        ("llamacpp", "openai", closed_port()),
        ("vllm", "openai", web_page),
        ("ollama", "ollama", web_page),  # an HTML page is not Ollama either
    )
    found = asyncio.run(discover(candidates=candidates, timeout=2.0))
    assert found == [
        Found("ollama", "ollama", f"http://127.0.0.1:{ollama.port}", OLLAMA_MODELS, "Ollama"),
        Found("lmstudio", "openai", f"http://127.0.0.1:{compatible.port}/v1", OPENAI_MODELS, "LM Studio"),
    ]
    assert [r.path for r in ollama.requests] == ["/api/tags"]
    assert [r.path for r in compatible.requests] == ["/v1/models"]


def test_nothing_listening_is_an_empty_list_quickly():
    candidates = tuple((name, kind, closed_port()) for name, kind, _ in DEFAULT_CANDIDATES)
    loop = asyncio.new_event_loop()
    try:
        t0 = loop.time()
        assert loop.run_until_complete(discover(candidates=candidates, timeout=0.5)) == []
        assert loop.time() - t0 < 2.0
    finally:
        loop.close()


def test_a_silent_server_times_out_as_not_found():
    import socket

    with socket.socket() as listener:  # accepts (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        found = asyncio.run(discover(candidates=(("ollama", "ollama", port),), timeout=0.3))
    assert found == []


def test_add_found_saves_provider_and_models_without_a_key(store, ollama):
    found = Found("ollama", "ollama", f"http://127.0.0.1:{ollama.port}", OLLAMA_MODELS, "Ollama")

    async def go():
        async with Engine(store) as engine:
            first = engine.providers.add_found(found)
            second = engine.providers.add_found(found)
            third = engine.providers.add_found(found)
            listed = await engine.providers.list_models(first)
            return engine, first, second, third, listed

    engine, first, second, third, listed = asyncio.run(go())
    assert (first, second, third) == ("ollama", "ollama-2", "ollama-3")
    config = store.providers.get("ollama")
    assert (config.kind, config.base_url, config.key_env) == ("ollama", found.base_url, None)
    assert store.providers.get("ollama-2").base_url == found.base_url
    assert set(engine.providers.configured_models()) >= {ModelRef("ollama", m) for m in OLLAMA_MODELS}
    assert {ModelRef("ollama-2", m) for m in OLLAMA_MODELS} <= set(engine.providers.configured_models())
    assert listed == list(OLLAMA_MODELS)  # the saved provider really talks to the server
    import keyring

    assert keyring.get_password("desk", "ollama") is None
