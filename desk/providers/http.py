"""The one shared httpx client, on desk's lean transport."""

from __future__ import annotations

from http.cookiejar import CookieJar
from typing import Any

import httpx

from desk.providers.proxies import environment_mounts
from desk.providers.transport import LeanTransport

USER_AGENT = "desk/0.1"
CookieTypes = httpx.Cookies | CookieJar | dict[str, str] | list[tuple[str, str]]  # what httpx.Cookies() takes


class _Cookies(httpx.Cookies):
    """httpx's cookie store, passing over a response that sets no cookie (vendors' answers
    seldom do): httpx hands every response to the standard library's cookie jar, which
    wraps it in urllib objects first, ~10% of a load worker's CPU per request at 1,000
    streams, spent on the loop as the answers' heads arrive."""

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


class _Client(httpx.AsyncClient):
    """An AsyncClient whose cookies are _Cookies (whatever is assigned to them)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cookies = _Cookies(self._cookies)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._cookies

    @cookies.setter
    def cookies(self, cookies: CookieTypes | None) -> None:
        self._cookies = _Cookies(cookies)


def make_client(*, connect_timeout: float = 10.0, transport: LeanTransport | None = None) -> httpx.AsyncClient:
    """An AsyncClient for all providers. Timeouts are enforced by the engine per phase
    (first token, idle, total), so httpx's own read timeout is off; proxies from the
    environment still apply, through httpx's proxy transport (desk.providers.proxies)."""
    return _Client(
        transport=transport or LeanTransport(connect_timeout=connect_timeout),
        mounts=environment_mounts(),
        timeout=httpx.Timeout(None, connect=connect_timeout),
        headers={"user-agent": USER_AGENT},
        follow_redirects=False,
        trust_env=True,
    )
