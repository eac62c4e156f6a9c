"""A model list is a body like any answer's: one past MAX_BODY_BYTES is refused as TOO_LARGE,
quickly and before it is all read, on every protocol."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from desk.core.provider import ProviderConfig
from desk.core.response import ErrorKind
from desk.providers.base import ProviderError
from desk.providers.framing import MAX_BODY_BYTES
from desk.providers.http import make_client
from desk.providers.registry import make_provider
from tests.engine.conftest import KINDS
from tests.raw_server import RawServer, head, send_filled
from tests.timing import SLACK_S

MB = 2**20


def _list_models(kind: str, server: RawServer) -> list[str]:
    base = server.base_url + ("/v1" if kind == "openai" else "")

    async def go() -> list[str]:
        async with make_client() as client:
            return await make_provider(ProviderConfig("raw", kind, base), client, "k").list_models()

    return asyncio.run(go())


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-close"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_huge_model_list_fails_fast_as_too_large(kind, declared):
    size = 200 * MB

    def answer(_head: bytes, sock) -> None:
        extra = (f"Content-Length: {size}",) if declared else ()
        send_filled(sock, head("200 OK", "application/json", *extra) + b'{"data":[{"id":"', size)

    with RawServer(answer) as server:
        t0 = time.perf_counter()
        with pytest.raises(ProviderError) as info:
            _list_models(kind, server)
        elapsed = time.perf_counter() - t0
    assert info.value.kind == ErrorKind.TOO_LARGE, info.value
    assert f"limit of {MAX_BODY_BYTES // MB} MB" in str(info.value)
    assert elapsed < 2 + SLACK_S, elapsed


def test_a_model_list_within_the_limit_is_read(kind="openai"):
    body = b'{"object":"list","data":[{"id":"m-b"},{"id":"m-a"}]}'

    def answer(_head: bytes, sock) -> None:
        sock.sendall(head("200 OK", "application/json", f"Content-Length: {len(body)}") + body)

    with RawServer(answer) as server:
        assert _list_models(kind, server) == ["m-a", "m-b"]


@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_discovery_stops_reading_a_huge_model_list(kind):
    """Discovery's probe of a local port reads a model list with the same cap: it gives up
    (the port is "not a model server") once the body passes the limit, not after all of it."""
    from desk.providers.loopback import loopback_client, served_models

    sent: list[int] = []
    done = threading.Event()

    def answer(_head: bytes, sock) -> None:
        sock.sendall(head("200 OK", "application/json") + b'{"models":[{"name":"')
        total, piece = 0, b"a" * 65536
        try:
            while total < 400 * MB:
                sock.sendall(piece)
                total += len(piece)
        finally:
            sent.append(total)
            done.set()

    async def probe(base: str):
        async with loopback_client(30.0) as client:
            return await served_models(client, kind, base, 30.0)

    with RawServer(answer) as server:
        base = server.base_url + ("/v1" if kind == "openai" else "")
        assert asyncio.run(probe(base)) is None
        assert done.wait(10)  # the server thread notices the hang-up on its next send
    assert sent and sent[0] < MAX_BODY_BYTES + 16 * MB, sent
