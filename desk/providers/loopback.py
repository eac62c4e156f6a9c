"""Short requests to model servers on this computer: discovery's probes and the built-in
model's health checks. Nothing here raises for a server that is absent or is something
else: a closed port, a timeout or an answer of the wrong shape is "not there"."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from desk.core.provider import ProviderConfig
from desk.providers.base import read_body
from desk.providers.connections import HttpClient
from desk.providers.http import USER_AGENT
from desk.providers.registry import make_provider
from desk.providers.transport import LeanTransport

LoopbackClient = HttpClient


def loopback_client(timeout: float) -> LoopbackClient:
    """desk's own transport (plain asyncio: it runs on the window's qasync loop too), no
    proxies from the environment and no redirects: this only ever talks to 127.0.0.1."""
    return httpx.AsyncClient(
        transport=LeanTransport(connect_timeout=timeout), trust_env=False, follow_redirects=False,
        timeout=httpx.Timeout(timeout), headers={"user-agent": USER_AGENT},
    )


async def served_models(client: LoopbackClient, kind: str, base_url: str, timeout: float) -> tuple[str, ...] | None:
    """The models a server of protocol `kind` at `base_url` lists, asked the way that
    protocol lists them; None if nothing of that kind answers there within `timeout`."""
    provider = make_provider(ProviderConfig("probe", kind, base_url), client, None)

    async def ask() -> Any:
        response = await client.send(provider.models_request(), stream=True)
        try:
            if response.status_code != 200:
                return None
            return json.loads(b"".join(await read_body(response)))  # capped like any model list
        finally:
            await response.aclose()

    try:
        # wait_for, not asyncio.timeout: the latter needs a current task, which qasync lacks.
        body = await asyncio.wait_for(ask(), timeout)
    except Exception:  # refused, timed out, not HTTP, not JSON, too large: simply not found
        return None
    return provider.served_models(body) if body is not None else None


async def answers(client: LoopbackClient, url: str) -> bool:
    """Whether `GET url` answers 200 (any transport error or timeout: it does not)."""
    try:
        return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False
