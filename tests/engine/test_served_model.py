"""Which model actually answered (issue 15): each protocol's own report of the served model
and its build is kept with the answer, streamed or whole, on all four wire protocols; Ollama's
build is the model's digest from /api/tags, fetched once per provider and model, after the
answer is timed."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid

import pytest

from desk.core.provider import ProviderConfig
from desk.core.response import Status
from desk.core.trial import ModelRef, TrialInput
from tests.engine.conftest import KINDS, MODELS, config_for, engine_for, run_one, script_for
from tests.raw_server import RawServer, head
from tests.vendor_server import FINGERPRINT, Script

SERVED = "vendor-build-2026-05-01"
FP = "fp_changed42"


def _own_provider(store, vendor, kind: str) -> str:
    """A provider of a name no other test used, so the session's digest cache starts empty."""
    name = f"{kind}-{uuid.uuid4().hex[:8]}"
    store.providers.add(config_for(kind, vendor, name=name))
    return name


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
@pytest.mark.parametrize("kind", KINDS)
def test_served_model_and_fingerprint_are_kept(providers, vendor, kind, stream):
    name = _own_provider(providers, vendor, kind)
    vendor.digests[MODELS["ollama"]] = "d1" * 32
    script_for(vendor, kind, Script(served_model=SERVED, fingerprint=FP))
    _, result = run_one(providers, kind, TrialInput("Say hello."), name=name, stream=stream)
    assert result.status == Status.OK, result.error_message
    assert result.served_model == SERVED
    expected_fp = {"openai": FP, "ollama": "d1" * 32}.get(kind)  # Anthropic and Gemini report no build
    assert result.system_fingerprint == expected_fp
    stored = providers.responses.get(result.id)
    assert (stored.served_model, stored.system_fingerprint) == (SERVED, expected_fp)


def test_openai_default_fingerprint_is_the_vendors(providers, vendor):
    _, result = run_one(providers, "openai")
    assert (result.served_model, result.system_fingerprint) == (MODELS["openai"], FINGERPRINT)


def test_a_retry_reports_what_the_final_attempt_served(providers, vendor):
    script_for(vendor, "openai", Script(status=503, served_model="old"), Script(served_model=SERVED))
    _, result = run_one(providers, "openai")
    assert result.status == Status.OK and result.retries == 1
    assert result.served_model == SERVED


def test_ollama_digest_is_fetched_once_per_model_after_the_answer(providers, vendor):
    name = _own_provider(providers, vendor, "ollama")
    vendor.digests[MODELS["ollama"]] = "aa" * 32
    first = run_one(providers, "ollama", name=name)[1]
    vendor.digests[MODELS["ollama"]] = "bb" * 32  # a re-pull mid-session is not looked up again
    second = run_one(providers, "ollama", name=name)[1]
    assert first.system_fingerprint == second.system_fingerprint == "aa" * 32
    paths = [r.path for r in vendor.requests]
    assert paths == ["/api/chat", "/api/tags", "/api/chat"]  # the lookup follows the timed answer
    chat = vendor.requests[0]
    assert chat.ended_at is not None and vendor.requests[1].read_at >= chat.ended_at


def test_ollama_model_missing_from_tags_has_no_fingerprint(providers, vendor):
    name = _own_provider(providers, vendor, "ollama")
    vendor.enqueue("not-listed:7b", Script())
    _, result = run_one(providers, "ollama", model="not-listed:7b", name=name)
    assert result.status == Status.OK, result.error_message
    assert (result.served_model, result.system_fingerprint) == ("not-listed:7b", None)


def test_a_cancel_during_a_stalled_digest_lookup_still_stores_the_finished_answer(store):
    asked, release = threading.Event(), threading.Event()

    def answer(request: bytes, sock) -> None:
        if request.startswith(b"GET /api/tags"):
            asked.set()
            release.wait(10)  # the lookup stalls until the test is over
            return
        line = {"model": "m:1", "message": {"role": "assistant", "content": "hi"}, "done": True,
                "done_reason": "stop", "prompt_eval_count": 3, "eval_count": 1}
        sock.sendall(head("200 OK", "application/x-ndjson") + json.dumps(line).encode() + b"\n")

    async def go(base_url: str) -> None:
        store.providers.add(ProviderConfig(name="stalled-tags", kind="ollama", base_url=base_url))
        async with engine_for(store) as engine:
            task = asyncio.create_task(engine.trials.run(TrialInput("hi"), [ModelRef("stalled-tags", "m:1")]))
            assert await asyncio.get_running_loop().run_in_executor(None, asked.wait, 5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    with RawServer(answer) as server:
        try:
            asyncio.run(go(server.base_url))
        finally:
            release.set()
    (trial,) = store.trials.list()
    (stored,) = store.responses.for_trial(trial.id)
    assert stored.status == Status.OK and stored.text == "hi"
    assert (stored.served_model, stored.system_fingerprint) == ("m:1", None)
