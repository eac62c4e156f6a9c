"""A load run whose requests go through httpx's own transport, not desk's lean one: through
the environment's forward HTTP proxy, as behind a corporate proxy, or on an Engine given its
own client. A load run copies one built request per trial thousands of times; httpx's
transport reads each copy's body stream, so every copy must carry one that can be sent, or
every request fails. httpx reads the proxy environment only for a client on its default
transport; desk.providers.proxies mounts it on desk's own client, loopback always direct.

The vendors are named `vendor.test` here (a reserved domain the test proxy maps to this
machine): desk sends 127.0.0.1 direct, and no name is ever looked up beyond the machine."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from desk.core.load import LoadStep
from desk.core.provider import ProviderConfig
from desk.core.trial import TrialInput
from desk.engine.export_runs import run_attempt_rows
from desk.engine.load import LoadPlan
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.session import Engine
from desk.providers.proxies import proxied
from tests.engine.conftest import KINDS, MODELS, base_url_for, engine_for, ref
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


@pytest.fixture
def proxy_env(monkeypatch):
    """HTTP_PROXY pointing at a loopback forward proxy (tests/conftest.py sets NO_PROXY=* for
    the whole suite: cleared here)."""
    with ForwardProxy() as proxy:
        for var in PROXY_VARS:
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        yield proxy


def run_plan(store):
    async def go():
        async with engine_for(store, timeouts=PLAN.timeouts) as engine:
            return await engine.loads.run(PLAN)
    return asyncio.run(go())


def test_a_load_run_goes_through_the_environments_http_proxy(store, vendor, proxy_env):
    for kind in KINDS:
        url = base_url_for(kind, vendor).replace("127.0.0.1", "vendor.test")
        store.providers.add(ProviderConfig(name=kind, kind=kind, base_url=url))
    result = run_plan(store)
    all_sent(result, vendor)
    assert len(proxy_env.forwarded) == len(vendor.requests)  # each one went through the proxy


def test_loopback_servers_are_reached_direct_whatever_the_proxy(providers, vendor, proxy_env):
    # A proxy cannot reach this machine's own Ollama or llama.cpp: 127.0.0.1 goes direct.
    all_sent(run_plan(providers), vendor)
    assert proxy_env.forwarded == []


def test_which_urls_the_environment_proxies(monkeypatch):
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    assert not proxied("http://api.example.com/v1")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "internal.corp, .lan,[fd00::1]:8080,10.1.2.3")
    assert proxied("http://api.example.com/v1")
    assert not proxied("https://api.example.com/v1")  # no HTTPS_PROXY, no ALL_PROXY
    for direct in ("http://localhost:11434", "http://127.0.0.1:8080/v1", "http://[::1]:8080",
                   "http://internal.corp/v1", "http://gpu.internal.corp", "http://box.lan:8000",
                   "http://[fd00::1]:8080", "http://10.1.2.3:8000"):
        assert not proxied(direct), direct
    monkeypatch.setenv("NO_PROXY", "*")
    assert not proxied("http://api.example.com/v1")


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


def test_a_proxied_models_first_wave_waits_for_the_steps_instant_beside_a_direct_one(providers, vendor, proxy_env):
    # A proxied request never reaches desk's transport, where the first wave is held until the
    # step's instant: it waits for that instant itself, rather than going out (and ending) while
    # the direct model's wave is being made ready.
    base = base_url_for("openai", vendor).replace("127.0.0.1", "vendor.test")
    providers.providers.add(ProviderConfig(name="viaproxy", kind="openai", base_url=base))
    plan = LoadPlan(models=(ref("openai"), ref("openai", name="viaproxy")), inputs=(TrialInput("hi"),),
                    steps=(LoadStep(3, 3),), retry=RetryPolicy(max_retries=0), timeouts=PLAN.timeouts,
                    warmup=False)

    async def go():
        async with engine_for(providers, timeouts=plan.timeouts) as engine:
            return await engine.loads.run(plan)

    result = asyncio.run(go())
    rows = run_attempt_rows(providers, result.run_id)
    direct = [r for r in rows if r["model"].startswith("openai/")]
    via = [r for r in rows if r["model"].startswith("viaproxy/")]
    assert len(direct) == len(via) == 3 and all(r["status"] == "ok" for r in rows)
    assert len(proxy_env.forwarded) == 3
    # the proxied wave was sent at the instant the direct wave was written, not before it
    assert min(r["started_at"] for r in via) >= min(r["started_at"] for r in direct)
