"""Shared harness for the trial-engine tests: a scripted loopback vendor, a fresh store,
and engines whose four providers (one per wire protocol) all point at that vendor.

tests/providers/conftest.py re-exports these fixtures, so both folders use one harness.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest

from desk.core.attachment import Attachment, attachment_from_bytes
from desk.core.provider import ProviderConfig
from desk.core.response import ResponseResult
from desk.core.trial import GenerationSettings, ModelRef, TrialInput
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.session import Engine
from desk.store import open_store
from desk.store.db import Store
from tests.media import png
from tests.vendor_server import Script, VendorServer

KINDS = ("openai", "anthropic", "gemini", "ollama")

# A model per kind that the vendor server knows (the names only matter for scripting and pricing).
MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-sonnet-4-20250514",
    "gemini": "gemini-2.0-flash",
    "ollama": "llama3.2:latest",
}

# Short limits: every fault must become a recorded outcome well inside a second or two.
FAST = Timeouts(connect=2.0, first_token=2.0, idle=1.0, total=5.0)
QUICK = RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.05)

TEXT = "Hello, world."  # what Script() streams by default
# For tests that hold a stream stalled until they cancel it: no limit may end it first.
PATIENT = Timeouts(connect=2.0, first_token=60.0, idle=60.0, total=120.0)
STALL = Script(stall_after_headers=True)


def answer_then_stall(server: VendorServer, n: int, models: list[str], answer: Script | None = None) -> None:
    """The next `n` requests (any model) get `answer`; every later one naming `models` stalls after
    its headers. A run cancelled or killed once `n` answers are in can neither finish first nor
    answer more: the test cancels in a state it knows, however slowly this machine runs it."""
    for model in models:
        server.set_default(model, STALL)
    server.enqueue("*", *[answer or Script()] * n)


async def held(server: VendorServer, n: int, timeout: float = 60) -> None:
    """Wait (off the loop, which must keep sending) until the vendor holds `n` requests."""
    await asyncio.to_thread(server.held, n, timeout)


async def until(ready, what: str, timeout: float = 30) -> None:
    """Let the loop run until `ready()`: for state the engine reports through the loop
    (progress, callbacks) once the vendor holds the requests that decide it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not ready():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not {what} within {timeout} s")
        await asyncio.sleep(0.005)





def png_attachment() -> Attachment:
    return attachment_from_bytes("dot.png", png())


def base_url_for(kind: str, server: VendorServer) -> str:
    return server.base_url + "/v1" if kind == "openai" else server.base_url


def config_for(kind: str, server: VendorServer, name: str | None = None, **kw) -> ProviderConfig:
    return ProviderConfig(name=name or kind, kind=kind, base_url=base_url_for(kind, server), **kw)


def ref(kind: str, model: str | None = None, name: str | None = None) -> ModelRef:
    return ModelRef(name or kind, model or MODELS[kind])


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def script_for(server: VendorServer, kind: str, *scripts: Script) -> None:
    """Queue scripts for the next requests to this kind's model."""
    server.enqueue(MODELS[kind], *scripts)


@pytest.fixture(scope="session")
def _vendor_session() -> Iterator[VendorServer]:
    with VendorServer() as server:
        yield server


@pytest.fixture
def vendor(_vendor_session: VendorServer) -> Iterator[VendorServer]:
    """The shared loopback vendor, with no scripts, records, defaults or key left over."""
    _vendor_session.reset()
    yield _vendor_session
    _vendor_session.reset()


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    s = open_store(tmp_path / "engine.db")
    yield s
    s.close()


@pytest.fixture
def providers(store: Store, vendor: VendorServer) -> Store:
    """The store with one provider per kind, named after its kind, pointing at the vendor."""
    for kind in KINDS:
        store.providers.add(config_for(kind, vendor))
    return store


@asynccontextmanager
async def engine_for(
    store: Store,
    *,
    timeouts: Timeouts = FAST,
    retry: RetryPolicy = QUICK,
    stream: bool = True,
) -> AsyncIterator[Engine]:
    """An Engine on `store` (providers already registered), closed on exit."""
    engine = Engine(store, timeouts=timeouts, retry=retry, stream=stream)
    try:
        yield engine
    finally:
        await engine.aclose()


def run_one(
    store: Store,
    kind: str,
    trial: TrialInput | None = None,
    settings: GenerationSettings | None = None,
    *,
    model: str | None = None,
    name: str | None = None,
    **engine_kw,
) -> tuple[str, ResponseResult]:
    """Run a one-model trial through the Engine; return (trial_id, the result)."""

    async def go() -> tuple[str, ResponseResult]:
        async with engine_for(store, **engine_kw) as engine:
            outcome = await engine.trials.run(
                trial or TrialInput("Say hello."), [ref(kind, model, name)], settings
            )
        return outcome.trial_id, outcome.responses[0]

    return asyncio.run(go())


def run_many(
    store: Store, refs: list[ModelRef], trial: TrialInput | None = None, **engine_kw
) -> tuple[str, list[ResponseResult]]:
    async def go() -> tuple[str, list[ResponseResult]]:
        async with engine_for(store, **engine_kw) as engine:
            outcome = await engine.trials.run(trial or TrialInput("Say hello."), refs)
        return outcome.trial_id, outcome.responses

    return asyncio.run(go())
