"""Fetching the maintained price list: one GET, its failures as one line each."""

from __future__ import annotations

from typing import Any

import httpx

from desk.providers.connections import HttpClient


class PriceFeedError(ValueError):
    """The price list could not be fetched or is not JSON; the message says why."""


async def fetch_price_list(client: HttpClient, url: str, timeout: float) -> Any:
    """The price list at `url`, parsed from JSON (checking its shape is the caller's)."""
    try:
        response = await client.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        raise PriceFeedError(f"cannot fetch price data from {url} ({type(exc).__name__}: {exc})") from None
    if response.status_code != 200:
        raise PriceFeedError(f"price data request answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise PriceFeedError("the price data is not JSON") from None
