"""A load run sends one request thousands of times: it is built once per model, trial and
settings and copied, each copy with its own extensions (its timing), byte for byte the
request a fresh build gives; a client holding cookies builds afresh (they go in the head)."""

from __future__ import annotations

import asyncio

from desk.core.provider import ProviderConfig
from desk.core.trial import GenerationSettings, TrialInput
from desk.providers.heads import request_head
from desk.providers.http import make_client
from desk.providers.registry import make_provider
from tests.engine.conftest import KINDS

URL = "http://127.0.0.1:9"


def test_a_reused_request_is_a_fresh_builds_copy_with_its_own_extensions():
    async def go() -> None:
        async with make_client() as client:
            for kind in KINDS:
                provider = make_provider(ProviderConfig(kind, kind, URL + ("/v1" if kind == "openai" else "")),
                                         client, "sk-test")
                trial, settings = TrialInput("Measure me."), GenerationSettings(max_tokens=7)
                fresh = provider.build_request("m", trial, settings, stream=True)
                first = provider._request("m", trial, settings, True, True)
                second = provider._request("m", trial, settings, True, True)
                assert first is not second and first.extensions is not second.extensions
                first.extensions["mine"] = 1
                assert "mine" not in second.extensions
                for got in (first, second):
                    assert request_head(got) == request_head(fresh) and got.content == fresh.content, kind
                other = provider._request("m", TrialInput("Another."), settings, True, True)
                assert b"Another." in other.content and b"Measure me." not in other.content
                whole = provider._request("m", trial, settings, False, True)  # the stream flag is in the key
                assert request_head(whole) == request_head(provider.build_request("m", trial, settings, stream=False))
                assert request_head(whole) + whole.content != request_head(first) + first.content
                assert provider._built is not None and len(provider._built) == 3

    asyncio.run(go())


def test_without_reuse_or_with_cookies_held_each_request_is_built():
    async def go() -> None:
        async with make_client() as client:
            provider = make_provider(ProviderConfig("o", "openai", URL + "/v1"), client, None)
            trial, settings = TrialInput("hi"), GenerationSettings()
            provider._request("m", trial, settings, True, False)
            assert provider._built is None
            provider._request("m", trial, settings, True, True)
            client.cookies.set("session", "abc", domain="127.0.0.1")
            with_cookie = provider._request("m", trial, settings, True, True)
            assert with_cookie.headers.get("cookie") == "session=abc"

    asyncio.run(go())
