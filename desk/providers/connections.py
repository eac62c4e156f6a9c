"""The client every provider shares, with desk's own transport under it, and what the
engine asks of its connections: can a provider be reached, and open some ahead of a run.

The transport is kept here because httpx has no public way to read a client's transport
back. A URL the environment proxies (desk.providers.proxies) goes through httpx's proxy
transport instead: its connections are the proxy's, and none is opened ahead.
"""

from __future__ import annotations

import httpx

from desk.providers.http import make_client
from desk.providers.proxies import proxied
from desk.providers.transport import LeanTransport

HttpClient = httpx.AsyncClient  # the type the engine passes on, without importing httpx


class Connections:
    def __init__(self, *, connect_timeout: float = 10.0, client: HttpClient | None = None) -> None:
        """desk's client on its lean transport; or `client` as given, whose connections
        cannot be opened ahead (its transport is unknown here)."""
        self._transport = LeanTransport(connect_timeout=connect_timeout) if client is None else None
        self.client = client or make_client(connect_timeout=connect_timeout, transport=self._transport)

    @property
    def own(self) -> bool:
        """Whether requests go through desk's transport (which can hold a load step's first
        wave until its instant: desk.providers.volley)."""
        return self._transport is not None

    async def unreachable(self, base_url: str) -> str | None:
        """Why no connection to `base_url` can be opened right now; None if one was (it is
        kept open for the requests that follow) or the client is not desk's own."""
        if self._transport is None or proxied(base_url):
            return None
        try:
            await self._transport.prewarm(base_url, 1)
        except httpx.HTTPError as exc:
            return str(exc) or type(exc).__name__
        return None

    async def prewarm(self, base_url: str, count: int) -> int:
        """Open up to `count` keep-alive connections to `base_url`; how many are idle now."""
        if self._transport is None or proxied(base_url):
            return 0
        return await self._transport.prewarm(base_url, count)

    async def aclose(self) -> None:
        await self.client.aclose()
