"""The proxies the environment names (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY) as httpx
mounts. httpx reads them only for a client on its default transport; desk's client has its
own (desk.providers.transport), so it asks here: a proxied URL goes through httpx's proxy
transport, anything else (and NO_PROXY's hosts, as httpx and curl read them) through desk's."""

from __future__ import annotations

import ipaddress
from urllib.request import getproxies

import httpx

# A load run holds hundreds of streams open at once: no pool cap may queue them at the proxy.
_UNCAPPED = httpx.Limits(max_connections=None, max_keepalive_connections=None)


def _bypass_pattern(host: str) -> str:
    if "://" in host:
        return host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"all://{host}" if host.lower() == "localhost" else f"all://*{host}"
    return f"all://[{host}]" if address.version == 6 else f"all://{host}"


def environment_mounts() -> dict[str, httpx.AsyncBaseTransport | None]:
    """A proxy transport per scheme the environment proxies, and None (the client's own
    transport) for each host NO_PROXY exempts; nothing if no proxy is set or NO_PROXY is *."""
    found = getproxies()
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {
        f"{scheme}://": httpx.AsyncHTTPTransport(proxy=url if "://" in url else f"http://{url}", limits=_UNCAPPED)
        for scheme in ("http", "https", "all") if (url := found.get(scheme))
    }
    for host in (h.strip() for h in found.get("no", "").split(",")):
        if host == "*":
            return {}
        if host and mounts:
            mounts[_bypass_pattern(host)] = None
    return mounts
