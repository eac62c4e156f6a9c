"""A load run whose requests go through httpx's own transport, not desk's lean one: an Engine
given its own client, here one sending through a forward HTTP proxy. A load run copies one
built request per trial thousands of times; httpx's transport reads each copy's body
stream, so every copy must carry one that can be sent, or every request fails.

(HTTP_PROXY alone does not take this path today: httpx ignores the environment's proxies
for a client given its own transport, which desk's shared client is.)"""

from __future__ import annotations

import asyncio

import httpx

from desk.core.load import LoadStep
from desk.core.trial import TrialInput
from desk.engine.load import LoadPlan
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.session import Engine
from tests.engine.conftest import KINDS, MODELS, ref
from tests.forward_proxy import ForwardProxy


def test_a_load_run_on_httpx_own_transport_through_a_proxy_sends_every_request(providers, vendor):
    plan = LoadPlan(models=tuple(ref(kind) for kind in KINDS), inputs=(TrialInput("hi"),),
                    steps=(LoadStep(3, 9),), retry=RetryPolicy(max_retries=0),
                    timeouts=Timeouts(connect=2, first_token=5, idle=2, total=10), warmup=False)
    with ForwardProxy() as proxy:

        async def go():
            async with httpx.AsyncClient(proxy=proxy.url, trust_env=False, timeout=10) as client:
                engine = Engine(providers, timeouts=plan.timeouts, client=client)
                try:
                    return await engine.loads.run(plan)
                finally:
                    await engine.aclose()

        result = asyncio.run(go())
    for kind in KINDS:
        s = result.summary["models"][f"{kind}/{MODELS[kind]}"]
        assert (s["requests"], s["ok"], s["errors"]) == (9, 9, {}), (kind, s["errors"])
    assert len(proxy.forwarded) == len(vendor.requests)  # each one went through the proxy
    sent = [r for r in vendor.requests if r.method == "POST"]
    assert len(sent) == 4 * 9 and all(r.json for r in sent)  # with its body
