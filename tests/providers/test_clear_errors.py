"""Failures desk can explain better than the raw exception: each error names its cause and
its fix in one sentence (a DNS failure, https:// to a plain HTTP port, a redirect, a
server refusing a provider that has no key). Everything stays on loopback."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from desk.core.provider import ProviderConfig
from desk.core.response import ErrorKind, Status
from desk.engine.policy import RetryPolicy, Timeouts
from desk.providers.base import ProviderError
from tests.engine.conftest import KINDS, MODELS, config_for, engine_for, run_one
from tests.raw_server import RawServer
from tests.timing import SLACK_S

NO_RETRY = RetryPolicy(max_retries=0)
PATIENT = Timeouts(connect=10.0, first_token=15.0, idle=10.0, total=20.0)  # desk's own connect limit


def only(store, kind: str, base_url: str, **kw) -> None:
    store.providers.add(ProviderConfig(name=kind, kind=kind, base_url=base_url, **kw))


def test_a_name_that_does_not_resolve_says_so_not_unknown_error(store, monkeypatch):
    """The resolver's answer is scripted (gaierror -2, as glibc gives for an unknown name),
    so no DNS query leaves the machine; the rest of the stack runs for real."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kw):
        if host == "api.no-such-vendor.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    only(store, "openai", "http://api.no-such-vendor.invalid/v1")
    _, r = run_one(store, "openai", retry=NO_RETRY)
    assert r.error_kind == ErrorKind.CONNECTION
    assert "Unknown error" not in r.error_message
    assert r.error_message.startswith("cannot find the host 'api.no-such-vendor.invalid': the name does not resolve")
    assert "check the base URL for a typo" in r.error_message


@pytest.mark.parametrize("kind", KINDS)
def test_https_to_a_plain_http_port_says_so_quickly(kind, store, vendor):
    """The vendor serves plain HTTP and, like most servers, waits in silence for a request
    line that a TLS hello never sends: before, the connect timeout (10 s) ran out."""
    port = vendor.base_url.rsplit(":", 1)[1]
    only(store, kind, f"https://127.0.0.1:{port}" + ("/v1" if kind == "openai" else ""))
    t0 = time.perf_counter()
    _, r = run_one(store, kind, timeouts=PATIENT)  # retries included (QUICK: 2 of them)
    elapsed = time.perf_counter() - t0
    assert r.error_kind == ErrorKind.CONNECTION
    assert r.error_message == (f"127.0.0.1:{port} speaks plain HTTP, not TLS: change the base URL to "
                               "start with http:// (or point https:// at the server's TLS port)")
    assert elapsed < 1 + 2 * SLACK_S, elapsed  # the probe waits 1 s once; the retries fail at once
    assert not [rq for rq in vendor.requests if rq.method == "POST"]


def redirect_to(status: int, host: str):
    def answer(head: bytes, sock) -> None:
        path = head.split(b" ")[1].decode()
        sock.sendall(f"HTTP/1.1 {status} Moved\r\nLocation: https://{host}{path}\r\n"
                     "Content-Type: text/html\r\nContent-Length: 9\r\nConnection: close\r\n\r\n<a>x</a>\n".encode())
    return answer


@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("kind", KINDS)
def test_a_redirect_names_its_location_and_the_base_url_to_use(kind, status, store):
    with RawServer(redirect_to(status, "api.moved.example:8443")) as server:
        only(store, kind, server.base_url + ("/v1" if kind == "openai" else ""))
        _, r = run_one(store, kind)
        assert len(server.heads) == 1  # neither followed nor retried
    new_base = "https://api.moved.example:8443" + ("/v1" if kind == "openai" else "")
    assert (r.status, r.http_status) == (Status.ERROR, status)
    assert r.error_message.startswith(f"the server redirects to {new_base}/"), r.error_message
    assert r.error_message.endswith(f"(HTTP {status}) and desk does not follow redirects, so that a key is "
                                    f"never sent elsewhere: set the base URL to {new_base}")


def test_a_redirect_elsewhere_on_the_model_list_says_so_too(store):
    async def go(engine) -> ProviderError:
        with pytest.raises(ProviderError) as info:
            await engine.providers.list_models("ollama")
        return info.value

    async def main() -> ProviderError:
        async with engine_for(store) as engine:
            return await go(engine)

    with RawServer(lambda head, sock: sock.sendall(
            b"HTTP/1.1 301 Moved\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n")) as server:
        only(store, "ollama", server.base_url)
        err = asyncio.run(main())
    assert err.message == (f"the server redirects to {server.base_url}/elsewhere (HTTP 301) and desk does not "
                           "follow redirects, so that a key is never sent elsewhere: set the base URL to "
                           "where the server now answers")


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "ollama"])  # Ollama asks for no key
def test_a_refusal_without_a_configured_key_says_the_key_is_missing(kind, store, vendor):
    vendor.api_key = "sk-test-0123456789abcdefRIGHT"
    store.providers.add(config_for(kind, vendor))  # no key_env; the (test) keyring is empty
    _, r = run_one(store, kind)
    assert r.error_kind == ErrorKind.AUTH
    assert r.error_message.startswith(
        f"provider '{kind}' has no API key (the OS keyring has none for it): add one with "
        f"'desk provider set-key {kind}' or under Providers; the server said: ")


def test_an_unset_key_variable_is_named(store, vendor, monkeypatch):
    monkeypatch.delenv("DESK_TEST_NOT_SET_KEY", raising=False)
    vendor.api_key = "sk-test-0123456789abcdefRIGHT"
    store.providers.add(config_for("anthropic", vendor, key_env="DESK_TEST_NOT_SET_KEY"))
    _, r = run_one(store, "anthropic")
    assert r.error_message.startswith("provider 'anthropic' has no API key ($DESK_TEST_NOT_SET_KEY is not set "
                                      "and the OS keyring has none for it): ")


def test_a_wrong_key_is_not_called_missing(store, vendor, monkeypatch):
    monkeypatch.setenv("DESK_TEST_WRONG_KEY", "sk-test-9876543210zyxwvuWRONG")
    vendor.api_key = "sk-test-0123456789abcdefRIGHT"
    store.providers.add(config_for("openai", vendor, key_env="DESK_TEST_WRONG_KEY"))
    _, r = run_one(store, "openai", model=MODELS["openai"])
    assert r.error_kind == ErrorKind.AUTH and "has no API key" not in r.error_message
