"""The one shared httpx client, on desk's lean transport."""

from __future__ import annotations

import httpx

from desk.providers.transport import LeanTransport

USER_AGENT = "desk/0.1"


def make_client(*, connect_timeout: float = 10.0, transport: LeanTransport | None = None) -> httpx.AsyncClient:
    """An AsyncClient for all providers. Timeouts are enforced by the engine per phase
    (first token, idle, total), so httpx's own read timeout is off; proxies from the
    environment still apply through httpx's proxy mounts."""
    return httpx.AsyncClient(
        transport=transport or LeanTransport(connect_timeout=connect_timeout),
        timeout=httpx.Timeout(None, connect=connect_timeout),
        headers={"user-agent": USER_AGENT},
        follow_redirects=False,
        trust_env=True,
    )
