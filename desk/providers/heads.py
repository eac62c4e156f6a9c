"""HTTP/1.1 heads as the lean transport writes and awaits them (desk.providers.transport)."""

from __future__ import annotations

import httpx

Origin = tuple[str, str, int]


def origin_of(url: httpx.URL) -> Origin:
    return url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80)


def request_head(request: httpx.Request) -> bytes:
    lines = [request.method.encode() + b" " + request.url.raw_path + b" HTTP/1.1"]
    lines += [name + b": " + value for name, value in request.headers.raw]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def head_only(buf: bytearray) -> bool:
    """Whether `buf` holds no more than a streamed answer's head (a 200 with a chunked body,
    whose first bytes are still to come): a reader that needs nothing before them sleeps on.
    Anything else (a body's first bytes, an error, an answer with no body) wakes it."""
    end = buf.find(b"\r\n\r\n")
    return end < 0 or (end + 4 == len(buf) and buf.startswith(b"HTTP/1.1 200") and b"chunked" in buf.lower())
