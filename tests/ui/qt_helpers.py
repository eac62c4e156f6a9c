"""Helpers for driving the real window under the qasync loop in tests."""

from __future__ import annotations

import asyncio


def run_until(loop, predicate, timeout=10.0):
    async def wait():
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise AssertionError("timed out waiting for the window")
            await asyncio.sleep(0.02)

    loop.run_until_complete(wait())
