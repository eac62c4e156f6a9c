"""The four wire protocols against the scripted loopback vendor: real HTTP, no mocks.

Each test checks both sides: what desk sent (the vendor's RequestRecord) and what it
made of the answer (text, usage, finish reason, ids, timing).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import itertools
import json

import pytest

from desk.core.attachment import attachment_from_bytes
from desk.core.provider import ProviderConfig
from desk.core.response import ErrorKind, Status, Usage
from desk.core.trial import GenerationSettings, TrialInput
from desk.engine.keys import get_api_key
from desk.providers.base import Finished, Opened, ProviderError, TextDelta, UsageReport
from desk.providers.http import make_client
from desk.providers.registry import make_provider
from desk.providers.transport import WireTiming
from tests.engine.conftest import (
    KINDS,
    MODELS,
    TEXT,
    base_url_for,
    config_for,
    png,
    png_attachment,
    run_one,
    script_for,
)
from tests.timing import SLACK_MS
from tests.vendor_server import DEFAULT_USAGE, Script

KEY = "sk-test-0123456789abcdefRIGHT"
WRONG = "sk-test-9876543210zyxwvuWRONG"

# DEFAULT_USAGE as each vendor reports it: Gemini and Ollama omit zero cache counts and
# Anthropic and Ollama have no reasoning count, so those stay None (unknown), never 0.
EXPECTED_USAGE = {
    "openai": Usage(12, 4, 0, 0),
    "anthropic": Usage(12, 4, 0, None),
    "gemini": Usage(12, 4, None, None),
    "ollama": Usage(12, 4, None, None),
}


def test_expected_usage_matches_the_servers_defaults():
    assert DEFAULT_USAGE == {
        "input_tokens": 12,
        "output_tokens": 4,
        "cached_input_tokens": 0,
        "reasoning_tokens": 0,
    }


def only_request(vendor):
    """The one generation request the vendor saw."""
    gen = [r for r in vendor.requests if r.method == "POST"]
    assert len(gen) == 1, [(r.method, r.path) for r in vendor.requests]
    return gen[0]


# --- answers: streamed and whole ------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
@pytest.mark.parametrize("kind", KINDS)
def test_answer_text_usage_ids_and_timing(kind, stream, providers, vendor):
    script_for(vendor, kind, Script(first_token_delay_ms=80, interval_ms=5))
    _, r = run_one(providers, kind, stream=stream)
    rec = only_request(vendor)

    assert rec.protocol == kind and rec.stream is stream
    assert r.status == Status.OK, r.error_message
    assert (r.error_kind, r.error_message) == (None, None)
    assert r.text == TEXT
    assert r.usage == EXPECTED_USAGE[kind]
    assert r.finish_reason == "stop"
    assert r.http_status == 200
    assert r.vendor_request_id == rec.request_id
    assert r.retries == 0 and len(r.attempts) == 1

    assert r.ttft_ms is not None and r.total_ms is not None
    assert 0 < r.ttft_ms <= r.total_ms
    # The server waits 80 ms (+3 × 5 ms between pieces when the answer comes whole).
    expected = 80 if stream else 95
    # Never early; late only by what a busy machine adds (the benchmarks measure the real error).
    assert expected <= r.ttft_ms <= expected + SLACK_MS, r.ttft_ms
    assert r.ttft_ms == pytest.approx((r.first_token_at - r.started_at) * 1000, abs=1e-3)
    assert r.total_ms == pytest.approx((r.ended_at - r.started_at) * 1000, abs=1e-3)
    assert r.started_at <= rec.read_at <= r.first_token_at
    if stream:
        # Three more tokens over the ~15 ms after the first: a real, finite rate.
        assert r.output_tokens_per_s is not None and 50 < r.output_tokens_per_s < 1000
    else:
        assert r.output_tokens_per_s is None  # everything in one read: no rate to speak of


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
@pytest.mark.parametrize("kind", KINDS)
def test_no_usage_reported_stays_unknown(kind, stream, providers, vendor):
    script_for(vendor, kind, Script(usage=None))
    _, r = run_one(providers, kind, stream=stream)
    assert r.status == Status.OK and r.text == TEXT
    assert r.usage.input_tokens is None and r.usage.output_tokens is None  # not 0
    assert r.usage == Usage()
    assert r.cost_usd is None
    assert r.cost_note in ("no usage reported", "no price")
    assert r.output_tokens_per_s is None
    assert r.attempts[0].cost_usd is None


@pytest.mark.parametrize("kind", KINDS)
def test_cached_and_reasoning_counts_are_mapped(kind, providers, vendor):
    usage = {"input_tokens": 100, "output_tokens": 50, "cached_input_tokens": 30, "reasoning_tokens": 20}
    script_for(vendor, kind, Script(usage=usage))
    _, r = run_one(providers, kind)
    assert r.status == Status.OK
    expected = {
        "openai": Usage(100, 50, 30, 20),
        "anthropic": Usage(100, 50, 30, None),  # input = uncached + cache reads (+ writes)
        "gemini": Usage(100, 50, 30, 20),  # output = candidates + thoughts
        "ollama": Usage(100, 50, None, None),
    }[kind]
    assert r.usage == expected


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini", "ollama"])
def test_length_finish_is_reported(kind, providers, vendor):
    script_for(vendor, kind, Script(finish_reason="length"))
    _, r = run_one(providers, kind)
    assert (r.status, r.finish_reason, r.text) == (Status.OK, "length", TEXT)


@pytest.mark.parametrize("kind", KINDS)
def test_provider_stream_yields_events_in_order(kind, vendor):
    """Provider.stream on its own: Opened first, the text, usage, then Finished; arrival times."""
    script_for(vendor, kind, Script(text_pieces=["a", "b", "c"], interval_ms=3))

    async def go():
        async with make_client() as client:
            provider = make_provider(config_for(kind, vendor), client, None)
            timing = WireTiming()
            events = [
                e
                async for e in provider.stream(
                    MODELS[kind], TrialInput("hi"), GenerationSettings(), timing=timing
                )
            ]
            return events, timing

    events, timing = asyncio.run(go())
    assert isinstance(events[0], Opened) and events[0].http_status == 200
    assert events[0].vendor_request_id == vendor.requests[-1].request_id
    assert isinstance(events[-1], Finished) and events[-1].finish_reason == "stop"
    texts = [e for e in events if isinstance(e, TextDelta)]
    assert "".join(t.text for t in texts) == "abc"
    assert all(a.at <= b.at for a, b in itertools.pairwise(texts))
    assert timing.started is not None and texts[0].at > timing.started
    assert timing.connect_ms is not None and timing.connect_ms >= 0
    usages = [e.usage for e in events if isinstance(e, UsageReport)]
    assert usages  # reported in pieces as the vendor sends them (Anthropic: input first)
    assert functools.reduce(Usage.merged, usages) == EXPECTED_USAGE[kind]


# --- the request desk sends -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_request_shape_settings_and_system_prompt(kind, providers, vendor):
    trial = TrialInput("What is 2+2?", system="Be terse.")
    settings = GenerationSettings(temperature=0.3, max_tokens=77)
    _, r = run_one(providers, kind, trial, settings)
    assert r.status == Status.OK
    rec = only_request(vendor)
    body = rec.json
    assert rec.headers["content-type"] == "application/json"
    if kind == "openai":
        assert rec.path == "/v1/chat/completions"
        assert body["model"] == MODELS[kind] and body["stream"] is True
        assert body["stream_options"] == {"include_usage": True}
        assert body["temperature"] == 0.3
        assert body["max_tokens"] == 77  # a compatible server: the classic name
        assert body["messages"] == [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "What is 2+2?"},
        ]
    elif kind == "anthropic":
        assert rec.path == "/v1/messages"
        assert rec.headers["anthropic-version"] == "2023-06-01"
        assert body["model"] == MODELS[kind] and body["stream"] is True
        assert body["max_tokens"] == 77 and body["temperature"] == 0.3
        assert body["system"] == "Be terse."  # top level, not a message
        assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "What is 2+2?"}]}]
    elif kind == "gemini":
        assert rec.path == f"/v1beta/models/{MODELS[kind]}:streamGenerateContent"
        assert rec.query == {"alt": "sse"}
        assert body["generationConfig"] == {"temperature": 0.3, "maxOutputTokens": 77}
        assert body["systemInstruction"] == {"parts": [{"text": "Be terse."}]}
        assert body["contents"] == [{"role": "user", "parts": [{"text": "What is 2+2?"}]}]
    else:
        assert rec.path == "/api/chat"
        assert body["model"] == MODELS[kind] and body["stream"] is True
        assert body["options"] == {"temperature": 0.3, "num_predict": 77}
        assert body["messages"] == [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "What is 2+2?"},
        ]


@pytest.mark.parametrize("kind", KINDS)
def test_defaults_are_not_sent(kind, providers, vendor):
    """None means "the vendor's default": no temperature, no token cap (Anthropic needs one)."""
    _, r = run_one(providers, kind)
    assert r.status == Status.OK
    body = only_request(vendor).json
    flat = json.dumps(body)
    assert "temperature" not in flat
    if kind == "anthropic":
        assert body["max_tokens"] == 4096
        assert "system" not in body
    else:
        assert "max_tokens" not in flat and "maxOutputTokens" not in flat and "num_predict" not in flat
    if kind == "gemini":
        assert "generationConfig" not in body and "systemInstruction" not in body


@pytest.mark.parametrize("kind", KINDS)
def test_whole_answer_request_shape(kind, providers, vendor):
    _, r = run_one(providers, kind, stream=False)
    assert r.status == Status.OK
    rec = only_request(vendor)
    if kind == "gemini":
        assert rec.path == f"/v1beta/models/{MODELS[kind]}:generateContent"
        assert "alt" not in rec.query
    else:
        assert rec.json["stream"] is False
        assert "stream_options" not in rec.json


HEADER = {
    "openai": ("authorization", f"Bearer {KEY}"),
    "anthropic": ("x-api-key", KEY),
    "gemini": ("x-goog-api-key", KEY),
    "ollama": ("authorization", f"Bearer {KEY}"),  # for a proxy in front of Ollama
}


@pytest.mark.parametrize("kind", KINDS)
def test_key_from_env_goes_in_the_vendors_auth_header(kind, store, vendor, monkeypatch):
    vendor.api_key = KEY
    monkeypatch.setenv("DESK_TEST_KEY", KEY)
    store.providers.add(config_for(kind, vendor, key_env="DESK_TEST_KEY"))
    _, r = run_one(store, kind)
    assert r.status == Status.OK, r.error_message
    rec = only_request(vendor)
    name, value = HEADER[kind]
    assert rec.headers[name] == value
    assert "key" not in rec.query  # never in the URL, where logs and proxies see it
    others = {"authorization", "x-api-key", "x-goog-api-key", "api-key"} - {name}
    assert not others & set(rec.headers)


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
def test_wrong_key_is_an_auth_error_with_the_vendors_words(kind, store, vendor, monkeypatch):
    vendor.api_key = KEY
    monkeypatch.setenv("DESK_TEST_KEY", WRONG)
    store.providers.add(config_for(kind, vendor, key_env="DESK_TEST_KEY"))
    _, r = run_one(store, kind)
    assert r.status == Status.ERROR
    assert r.error_kind == ErrorKind.AUTH, (r.http_status, r.error_message)
    words = {
        "openai": "Incorrect API key provided",
        "anthropic": "invalid x-api-key",
        "gemini": "API key not valid",
    }[kind]
    assert words in r.error_message
    assert WRONG not in r.error_message and KEY not in r.error_message
    assert len(r.attempts) == 1  # a wrong key does not get better by asking again
    assert r.text == ""


@pytest.mark.parametrize("kind", KINDS)
def test_a_key_echoed_by_the_vendor_is_redacted(kind, store, vendor, monkeypatch):
    monkeypatch.setenv("DESK_TEST_KEY", KEY)
    store.providers.add(config_for(kind, vendor, key_env="DESK_TEST_KEY"))
    script_for(vendor, kind, Script(status=401, error_message=f"Incorrect API key provided: {KEY}."))
    _, r = run_one(store, kind)
    assert (r.status, r.error_kind, r.http_status) == (Status.ERROR, ErrorKind.AUTH, 401)
    assert "Incorrect API key provided" in r.error_message
    assert KEY not in r.error_message and "0123456789abcdef" not in r.error_message
    assert "[REDACTED]" in r.error_message
    stored = store.responses.get(r.id)
    assert stored is not None and KEY not in (stored.error_message or "")
    assert all(KEY not in (a.error_message or "") for a in stored.attempts)


def test_key_env_not_set_sends_no_key(store, vendor, monkeypatch):
    monkeypatch.delenv("DESK_TEST_KEY", raising=False)
    cfg = config_for("openai", vendor, key_env="DESK_TEST_KEY")
    assert get_api_key(cfg) is None
    store.providers.add(cfg)
    _, r = run_one(store, "openai")
    assert r.status == Status.OK
    assert "authorization" not in only_request(vendor).headers


# --- attachments ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_image_and_data_file_reach_the_model(kind, providers, vendor):
    image = png_attachment()
    csv_text = "name,city\r\nJosé,Zürich\r\n  spaced ,\t\r\n"
    data = attachment_from_bytes("x.csv", csv_text.encode("utf-8"))
    trial = TrialInput("Describe both.", attachments=(image, data))
    _, r = run_one(providers, kind, trial)
    assert r.status == Status.OK, r.error_message
    body = only_request(vendor).json
    b64 = base64.b64encode(png()).decode("ascii")
    file_block = f'<file name="x.csv">\n{csv_text}\n</file>'

    if kind == "openai":
        content = body["messages"][-1]["content"]
        assert content[0] == {"type": "text", "text": file_block}
        assert content[1] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64}"}}
        assert content[-1] == {"type": "text", "text": "Describe both."}
    elif kind == "anthropic":
        content = body["messages"][0]["content"]
        assert content[0] == {"type": "text", "text": file_block}
        assert content[1] == {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": b64},
        }
        assert content[-1] == {"type": "text", "text": "Describe both."}
    elif kind == "gemini":
        parts = body["contents"][0]["parts"]
        assert parts[0] == {"text": file_block}
        assert parts[1] == {"inline_data": {"mime_type": "image/png", "data": b64}}
        assert parts[-1] == {"text": "Describe both."}
    else:
        user = body["messages"][-1]
        assert user["images"] == [b64]
        assert user["content"] == file_block + "\n\nDescribe both."
    # The data file goes byte-for-byte: no stripping, no newline normalisation.
    assert json.dumps(csv_text, ensure_ascii=False)[1:-1] in only_request(vendor).body.decode("utf-8")


def test_image_only_prompt_with_openai_keeps_text_last(providers, vendor):
    trial = TrialInput("What colour?", attachments=(png_attachment(),))
    _, r = run_one(providers, "openai", trial)
    assert r.status == Status.OK
    content = only_request(vendor).json["messages"][-1]["content"]
    assert [p["type"] for p in content] == ["image_url", "text"]


# --- Azure ------------------------------------------------------------------------------------


AZURE_VERSION = "2024-10-21"


def azure_config(vendor, **kw) -> ProviderConfig:
    return ProviderConfig(
        name="azure",
        kind="openai",
        base_url=vendor.base_url + "/openai/deployments/dep",
        api_version=AZURE_VERSION,
        key_env="DESK_AZURE_KEY",
        **kw,
    )


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_azure_uses_api_key_header_and_api_version(stream, store, vendor, monkeypatch):
    vendor.api_key = KEY
    monkeypatch.setenv("DESK_AZURE_KEY", KEY)
    store.providers.add(azure_config(vendor))
    _, r = run_one(store, "openai", model="dep", name="azure", stream=stream)
    assert r.status == Status.OK, r.error_message
    assert r.text == TEXT and r.usage.input_tokens == 12 and r.usage.output_tokens == 4
    rec = only_request(vendor)
    assert rec.azure
    assert rec.path == "/openai/deployments/dep/chat/completions"
    assert rec.query == {"api-version": AZURE_VERSION}
    assert rec.headers["api-key"] == KEY
    assert "authorization" not in rec.headers
    assert r.vendor_request_id == rec.request_id


def test_azure_sends_max_completion_tokens(store, vendor, monkeypatch):
    monkeypatch.setenv("DESK_AZURE_KEY", KEY)
    store.providers.add(azure_config(vendor))
    _, r = run_one(store, "openai", None, GenerationSettings(max_tokens=50), model="dep", name="azure")
    assert r.status == Status.OK
    body = only_request(vendor).json
    assert body["max_completion_tokens"] == 50 and "max_tokens" not in body


def test_azure_wrong_key(store, vendor, monkeypatch):
    vendor.api_key = KEY
    monkeypatch.setenv("DESK_AZURE_KEY", WRONG)
    store.providers.add(azure_config(vendor))
    _, r = run_one(store, "openai", model="dep", name="azure")
    assert (r.status, r.error_kind, r.http_status) == (Status.ERROR, ErrorKind.AUTH, 401)
    assert "Access denied due to invalid subscription key" in r.error_message
    assert WRONG not in r.error_message


def test_azure_lists_models(vendor, monkeypatch):
    vendor.api_key = KEY

    async def go():
        async with make_client() as client:
            provider = make_provider(azure_config(vendor), client, KEY)
            return await provider.list_models()

    assert asyncio.run(go()) == sorted(vendor.models["openai"])
    rec = vendor.requests[-1]
    assert rec.path == "/openai/models"
    assert rec.query == {"api-version": AZURE_VERSION}
    assert rec.headers["api-key"] == KEY


# --- list models --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_list_models(kind, vendor):
    vendor.api_key = KEY

    async def go():
        async with make_client() as client:
            provider = make_provider(config_for(kind, vendor), client, KEY)
            return await provider.list_models()

    assert asyncio.run(go()) == sorted(vendor.models[kind])
    rec = vendor.requests[-1]
    assert rec.method == "GET" and rec.protocol == kind
    name, value = HEADER[kind]
    assert rec.headers[name] == value


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
def test_list_models_with_a_wrong_key(kind, vendor):
    vendor.api_key = KEY

    async def go():
        async with make_client() as client:
            provider = make_provider(config_for(kind, vendor), client, WRONG)
            return await provider.list_models()

    with pytest.raises(ProviderError) as info:
        asyncio.run(go())
    assert info.value.kind == ErrorKind.AUTH
    assert WRONG not in str(info.value)


def test_list_models_through_the_engine(providers, vendor):
    from tests.engine.conftest import engine_for

    async def go():
        async with engine_for(providers) as engine:
            return {k: await engine.providers.list_models(k) for k in KINDS}, await engine.providers.test_provider("ollama")

    models, ms = asyncio.run(go())
    assert models == {k: sorted(vendor.models[k]) for k in KINDS}
    assert ms >= 0


def test_base_urls_point_at_the_vendor(vendor):
    assert base_url_for("openai", vendor).endswith("/v1")
    assert base_url_for("ollama", vendor) == vendor.base_url
