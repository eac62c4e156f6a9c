"""The proxies the environment names (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY) as httpx
mounts. httpx reads them only for a client on its default transport; desk's client has its
own (desk.providers.transport), so it asks here: a proxied URL goes through httpx's proxy
transport, anything else (and NO_PROXY's hosts, as httpx and curl read them) through desk's.

This machine's loopback addresses always go direct, whatever NO_PROXY says: a proxy cannot
reach the user's own Ollama or llama.cpp server (its "localhost" is the proxy's), and before
desk honoured proxies at all, local models worked behind any proxy setting (browsers also
bypass loopback implicitly)."""

from __future__ import annotations

import ipaddress
from urllib.request import getproxies

import httpx

# A load run holds hundreds of streams open at once: no pool cap may queue them at the proxy.
_UNCAPPED = httpx.Limits(max_connections=None, max_keepalive_connections=None)
LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _bypass_pattern(host: str) -> str:
    if "://" in host:
        return host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"all://{host}" if host.lower() == "localhost" else f"all://*{host}"
    return f"all://[{host}]" if address.version == 6 else f"all://{host}"


def _host_of(item: str) -> str:
    """The host a NO_PROXY item names ('[::1]:8080' -> '::1', '*.example.com' -> 'example.com')."""
    item = item.lower()
    if item.startswith("["):
        return item[1:].partition("]")[0]
    if item.count(":") == 1:  # host:port
        item = item.partition(":")[0]
    return item.lstrip("*").lstrip(".")


def _no_proxy() -> list[str]:
    return [h.strip() for h in getproxies().get("no", "").split(",") if h.strip()]


def environment_mounts() -> dict[str, httpx.AsyncBaseTransport | None]:
    """A proxy transport per scheme the environment proxies, and None (the client's own
    transport) for loopback and each host NO_PROXY exempts; nothing if no proxy is set or
    NO_PROXY is *."""
    found = getproxies()
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {
        f"{scheme}://": httpx.AsyncHTTPTransport(proxy=url if "://" in url else f"http://{url}", limits=_UNCAPPED)
        for scheme in ("http", "https", "all") if (url := found.get(scheme))
    }
    if not mounts:
        return {}
    for host in (*LOOPBACK, *_no_proxy()):
        if host == "*":
            return {}
        mounts[_bypass_pattern(host)] = None
    return mounts


def proxied(url: str) -> bool:
    """Whether requests to `url` go through a proxy of the environment (as environment_mounts
    routes them): their connections are the proxy's, and none can be opened ahead."""
    found = getproxies()
    target = httpx.URL(url)
    if not (found.get(target.scheme) or found.get("all")):
        return False
    host = target.host.lower()
    if host in LOOPBACK:
        return False
    for item in _no_proxy():
        if item == "*":
            return False
        scheme, sep, rest = item.rpartition("://")
        if sep and scheme not in ("all", target.scheme):
            continue
        name = _host_of(rest)
        if host == name or host.endswith("." + name):
            return False
    return True
