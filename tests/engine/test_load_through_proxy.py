"""A load run whose requests go through httpx's own transport, not desk's lean one: an Engine
given its own client, here one sending through a forward HTTP proxy. A load run copies one
built request per trial thousands of times; httpx's transport reads each copy's body
stream, so every copy must carry one that can be sent, or every request fails.
The way a user meets it: HTTP_PROXY set, as behind a corporate proxy (httpx reads the
environment only for a client on its default transport; desk.providers.proxies mounts them
on desk's own client)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from desk.core.load import LoadStep
from desk.core.trial import TrialInput
from desk.engine.load import LoadPlan
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.session import Engine
from tests.engine.conftest import KINDS, MODELS, engine_for, ref
from tests.forward_proxy import ForwardProxy

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
              "http_proxy", "https_proxy", "all_proxy", "no_proxy")
PLAN = LoadPlan(models=tuple(ref(kind) for kind in KINDS), inputs=(TrialInput("hi"),),
                steps=(LoadStep(3, 9),), retry=RetryPolicy(max_retries=0),
                timeouts=Timeouts(connect=2, first_token=5, idle=2, total=10), warmup=False)


def all_sent(result, vendor) -> None:
    for kind in KINDS:
        s = result.summary["models"][f"{kind}/{MODELS[kind]}"]
        assert (s["requests"], s["ok"], s["errors"]) == (9, 9, {}), (kind, s["errors"])
    sent = [r for r in vendor.requests if r.method == "POST"]
    assert len(sent) == 4 * 9 and all(r.json for r in sent)  # each with its body


@pytest.mark.parametrize("no_proxy", [None, "example.com,127.0.0.1"])
def test_a_load_run_goes_through_the_environments_http_proxy(providers, vendor, monkeypatch, no_proxy):
    with ForwardProxy() as proxy:
        for var in PROXY_VARS:  # tests/conftest.py sets NO_PROXY=* for the whole suite
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)  # without NO_PROXY httpx proxies 127.0.0.1 too
        if no_proxy:
            monkeypatch.setenv("NO_PROXY", no_proxy)

        async def go():
            async with engine_for(providers, timeouts=PLAN.timeouts) as engine:
                return await engine.loads.run(PLAN)

        result = asyncio.run(go())
    all_sent(result, vendor)
    assert len(proxy.forwarded) == (0 if no_proxy else len(vendor.requests))


def test_a_load_run_on_an_engines_own_client_through_a_proxy_sends_every_request(providers, vendor):
    with ForwardProxy() as proxy:

        async def go():
            async with httpx.AsyncClient(proxy=proxy.url, trust_env=False, timeout=10) as client:
                engine = Engine(providers, timeouts=PLAN.timeouts, client=client)
                try:
                    return await engine.loads.run(PLAN)
                finally:
                    await engine.aclose()

        result = asyncio.run(go())
    all_sent(result, vendor)
    assert len(proxy.forwarded) == len(vendor.requests)  # each one went through the proxy
