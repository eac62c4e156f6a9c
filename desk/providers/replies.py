"""Whole response bodies: a JSON answer read up to desk's limit, and an error body read up to
what an error message needs, with what a message quotes of them."""

from __future__ import annotations

import json
from typing import Any

import httpx

from desk.providers.framing import MAX_BODY_BYTES, too_large

MAX_ERROR_BODY = 64 * 1024


async def read_capped(response: httpx.Response) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        parts.append(chunk)
        size += len(chunk)
        if size >= MAX_ERROR_BODY:
            break
    return b"".join(parts)[:MAX_ERROR_BODY]


async def read_body(response: httpx.Response) -> list[bytes]:
    """A whole JSON answer, refused (TOO_LARGE) once it passes MAX_BODY_BYTES: up front
    when Content-Length says so, else as soon as the bytes read pass the limit."""
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise too_large("a response body", MAX_BODY_BYTES)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large("a response body", MAX_BODY_BYTES)
        chunks.append(chunk)
    return chunks


def error_json(body: bytes) -> Any:
    """An error body as JSON (the first item of a list, as Gemini sometimes sends), or None."""
    text = body.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(text) if text.strip() else None
    except ValueError:
        return None
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]
    return parsed


def snippet(body: bytes, n: int = 200) -> str:
    text = " ".join(body.decode("utf-8", errors="replace").split())
    return text[:n] + ("…" if len(text) > n else "")


def html_title(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace")
    lower = text.lower()
    i = lower.find("<title>")
    if i >= 0:
        j = lower.find("</title>", i)
        if j > i:
            return " ".join(text[i + 7 : j].split())[:120]
    return snippet(body, 120)
