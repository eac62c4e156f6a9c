"""Wire-format and fault tests for tests/vendor_server.py using plain httpx."""

from __future__ import annotations

import asyncio
import json
import random
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.timing import SLACK_MS, SLACK_S
from tests.vendor_server import LoadProfile, Script

ROOT = Path(__file__).resolve().parents[1]
OA = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
AN = {"model": "claude-sonnet-4-20250514", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
AN_H = {"anthropic-version": "2023-06-01"}
GEM = "/v1beta/models/gemini-2.0-flash"
OL = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
BIG_USAGE = {"input_tokens": 100, "output_tokens": 50, "cached_input_tokens": 30, "reasoning_tokens": 20}


@pytest.fixture
def client(srv):
    with httpx.Client(base_url=srv.base_url, timeout=5) as c:
        yield c


def sse(text: str) -> list[tuple[str | None, str]]:
    """Minimal SSE parser: [(event, data)]; accepts LF and CRLF."""
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        event, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        out.append((event, "\n".join(data)))
    return out


def openai_stream(client, body=None, **kw):
    r = client.post("/v1/chat/completions", json={**OA, "stream": True, **(body or {})}, **kw)
    return r, sse(r.text)


# ---------------------------------------------------------------- formats


def test_openai_stream_format(client, srv):
    r, evs = openai_stream(client, {"stream_options": {"include_usage": True}})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["transfer-encoding"] == "chunked"
    assert evs[-1] == (None, "[DONE]")
    chunks = [json.loads(d) for _, d in evs[:-1]]
    rid = r.headers["x-request-id"]
    assert rid.startswith("req_") and r.headers["request-id"] == rid
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == "chatcmpl-" + rid[4:] for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "Hello, world."
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    u = chunks[-1]["usage"]
    assert (u["prompt_tokens"], u["completion_tokens"], u["total_tokens"]) == (12, 4, 16)
    assert (
        "cached_tokens" in u["prompt_tokens_details"] and "reasoning_tokens" in u["completion_tokens_details"]
    )
    rec = srv.requests[-1]
    assert (rec.protocol, rec.model, rec.stream, rec.request_id) == ("openai", "gpt-4o-mini", True, rid)
    assert rec.json["stream"] is True and rec.headers["content-type"] == "application/json"
    assert rec.read_at <= rec.first_token_written_at <= rec.ended_at


def test_openai_usage_variants(client, srv):
    _, evs = openai_stream(client)  # include_usage not requested
    assert all("usage" not in json.loads(d) for _, d in evs[:-1])
    srv.enqueue("gpt-4o-mini", Script(usage=None, finish_reason="length"))
    _, evs = openai_stream(client, {"stream_options": {"include_usage": True}})
    chunks = [json.loads(d) for _, d in evs[:-1]]
    assert all("usage" not in c and c["choices"] for c in chunks)  # llama.cpp-like: no usage chunk
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    srv.enqueue("gpt-4o-mini", Script(usage=BIG_USAGE))
    _, evs = openai_stream(client, {"stream_options": {"include_usage": True}})
    u = json.loads(evs[-2][1])["usage"]
    assert (u["prompt_tokens"], u["completion_tokens"], u["total_tokens"]) == (100, 50, 150)
    assert u["prompt_tokens_details"]["cached_tokens"] == 30
    assert u["completion_tokens_details"]["reasoning_tokens"] == 20


def test_openai_non_stream_and_models(client):
    r = client.post("/v1/chat/completions", json=OA)
    d = r.json()
    assert r.headers["content-length"] == str(len(r.content))
    assert d["object"] == "chat.completion" and d["id"] == "chatcmpl-" + r.headers["x-request-id"][4:]
    assert d["choices"][0]["message"]["content"] == "Hello, world."
    assert d["choices"][0]["finish_reason"] == "stop" and d["usage"]["total_tokens"] == 16
    m = client.get("/v1/models").json()
    assert m["object"] == "list" and {"id": "gpt-4o-mini", "object": "model"}.items() <= m["data"][0].items()


def test_azure(client, srv):
    srv.api_key = "az-key"
    url = "/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21"
    assert client.post(url, json={"messages": []}).status_code == 401
    r = client.post(url, json={"messages": [], "stream": True}, headers={"api-key": "az-key"})
    evs = [json.loads(d) for _, d in sse(r.text)[:-1]]
    assert evs[0]["choices"] == [] and "prompt_filter_results" in evs[0]
    assert evs[1]["model"] == "my-gpt" and evs[1]["choices"][0]["delta"]["role"] == "assistant"
    rec = srv.requests[-1]
    assert (rec.model, rec.azure, rec.query["api-version"]) == ("my-gpt", True, "2024-10-21")
    r = client.get("/openai/models?api-version=2024-10-21", headers={"api-key": "az-key"})
    assert r.json()["data"][0]["object"] == "model"


def test_anthropic_stream_format(client, srv):
    srv.enqueue("*", Script(usage=BIG_USAGE, finish_reason="length"))
    r = client.post("/v1/messages", json={**AN, "stream": True}, headers=AN_H)
    evs = sse(r.text)
    names = [e for e, _ in evs]
    assert names == ["message_start", "content_block_start", "ping"] + ["content_block_delta"] * 4 + [
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    datas = [json.loads(d) for _, d in evs]
    assert all(d["type"] == n for d, n in zip(datas, names, strict=True))
    msg = datas[0]["message"]
    assert msg["id"] == "msg_" + r.headers["request-id"][4:] and msg["model"] == AN["model"]
    assert msg["usage"] == {
        "input_tokens": 70,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 30,
        "output_tokens": 1,
    }
    assert datas[1]["content_block"] == {"type": "text", "text": ""}
    assert "".join(d["delta"]["text"] for d in datas[3:7]) == "Hello, world."
    assert datas[3]["delta"]["type"] == "text_delta"
    assert datas[8]["delta"] == {"stop_reason": "max_tokens", "stop_sequence": None}
    assert datas[8]["usage"] == {"output_tokens": 50}


def test_anthropic_non_stream_models_and_version_header(client):
    d = client.post("/v1/messages", json=AN, headers=AN_H).json()
    assert d["type"] == "message" and d["content"] == [{"type": "text", "text": "Hello, world."}]
    assert d["stop_reason"] == "end_turn" and d["usage"]["output_tokens"] == 4
    r = client.post("/v1/messages", json=AN)  # no anthropic-version
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    m = client.get("/v1/models", headers={**AN_H, "x-api-key": "k"}).json()
    assert m["has_more"] is False and m["data"][0]["type"] == "model" and "display_name" in m["data"][0]


def test_gemini_stream_crlf_and_lf(client, srv):
    srv.enqueue("gemini-2.0-flash", Script(usage=BIG_USAGE))
    r = client.post(
        f"{GEM}:streamGenerateContent?alt=sse", json={"contents": []}, headers={"x-goog-api-key": "k"}
    )
    assert r.headers["content-type"] == "text/event-stream"
    assert (
        r.text.startswith("data: {")
        and r.text.endswith("}\r\n\r\n")
        and "\n\n" not in r.text.replace("\r\n", "")
    )
    chunks = [json.loads(d) for _, d in sse(r.text)]
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks) == "Hello, world."
    assert all(c["candidates"][0]["content"]["role"] == "model" for c in chunks)
    assert (
        "finishReason" not in chunks[0]["candidates"][0]
        and chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    )
    assert chunks[-1]["usageMetadata"] == {
        "promptTokenCount": 100,
        "candidatesTokenCount": 30,
        "totalTokenCount": 150,
        "cachedContentTokenCount": 30,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 100}],
        "thoughtsTokenCount": 20,
    }
    running = [c["usageMetadata"]["candidatesTokenCount"] for c in chunks]
    assert running == sorted(running) and running[0] < 30  # cumulative, like Gemini
    assert chunks[0]["modelVersion"] == "gemini-2.0-flash" and chunks[0]["responseId"]
    srv.enqueue("gemini-2.0-flash", Script(sse_line_ending="\n", finish_reason="content_filter"))
    r = client.post(f"{GEM}:streamGenerateContent?alt=sse", json={})
    assert "\r" not in r.text and json.loads(sse(r.text)[-1][1])["candidates"][0]["finishReason"] == "SAFETY"


def test_gemini_non_stream_array_and_models(client, srv):
    d = client.post(f"{GEM}:generateContent", json={}).json()
    assert d["candidates"][0]["content"]["parts"][0]["text"] == "Hello, world."
    assert d["candidates"][0]["finishReason"] == "STOP" and d["usageMetadata"]["totalTokenCount"] == 16
    arr = client.post(f"{GEM}:streamGenerateContent", json={}).json()  # no alt=sse: one JSON array
    assert len(arr) == 4 and arr[-1]["candidates"][0]["finishReason"] == "STOP"
    m = client.get("/v1beta/models").json()["models"]
    assert (
        m[0]["name"] == "models/gemini-2.0-flash" and "generateContent" in m[0]["supportedGenerationMethods"]
    )
    assert client.get("/v1beta/models/gemini-2.0-flash").json()["displayName"]
    assert client.get("/v1beta/models/nope").json()["error"]["status"] == "NOT_FOUND"


def test_ollama(client, srv):
    r = client.post("/api/chat", json=OL)  # Ollama streams unless stream is false
    assert r.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert [x["done"] for x in lines] == [False] * 4 + [True]
    assert "".join(x["message"]["content"] for x in lines) == "Hello, world."
    last = lines[-1]
    assert last["done_reason"] == "stop" and (last["prompt_eval_count"], last["eval_count"]) == (12, 4)
    assert all(isinstance(last[k], int) for k in ("total_duration", "load_duration", "eval_duration"))
    d = client.post("/api/chat", json={**OL, "stream": False}).json()
    assert d["message"] == {"role": "assistant", "content": "Hello, world."} and d["done"] is True
    srv.enqueue("llama3.2", Script(usage=None, finish_reason="length"))
    last = json.loads(client.post("/api/chat", json=OL).text.splitlines()[-1])
    assert last["done_reason"] == "length" and "eval_count" not in last
    assert client.get("/api/tags").json()["models"][0]["name"] == "llama3.2:latest"


def test_unknown_path_404(client):
    r = client.post("/v1/v1/chat/completions", json=OA)
    assert r.status_code == 404 and "Invalid URL" in r.json()["error"]["message"]


# ---------------------------------------------------------------- scripting, auth, errors


def test_enqueue_order_wildcard_and_defaults(client, srv):
    srv.enqueue("gpt-4o-mini", Script(text_pieces=["A"]), Script(text_pieces=["B"]))
    srv.enqueue("*", Script(text_pieces=["W"]))
    srv.set_default("gpt-4o", Script(text_pieces=["D"]))
    get = lambda m: client.post("/v1/chat/completions", json={**OA, "model": m}).json()[  # noqa: E731
        "choices"
    ][0]["message"]["content"]
    assert [get("gpt-4o-mini"), get("gpt-4o-mini"), get("gpt-4o-mini"), get("gpt-4o"), get("x")] == [
        "A",
        "B",
        "W",
        "D",
        "Hello, world.",
    ]
    assert srv.pending() == 0 and len(srv.requests) == 5
    srv.clear()
    assert srv.requests == []


def test_auth_all_vendors(client, srv):
    srv.api_key = "sk-test-123"
    r = client.post("/v1/chat/completions", json=OA, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert (
        client.post(
            "/v1/chat/completions", json=OA, headers={"Authorization": "Bearer sk-test-123"}
        ).status_code
        == 200
    )
    r = client.post("/v1/messages", json=AN, headers={**AN_H, "x-api-key": "nope"})
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    assert (
        client.post("/v1/messages", json=AN, headers={**AN_H, "x-api-key": "sk-test-123"}).status_code == 200
    )
    r = client.post(f"{GEM}:generateContent", json={}, headers={"x-goog-api-key": "nope"})
    assert r.status_code == 400 and r.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    assert client.post(f"{GEM}:generateContent", json={}).status_code == 403
    assert client.post(f"{GEM}:generateContent?key=sk-test-123", json={}).status_code == 200
    assert client.get("/v1/models").status_code == 401
    assert client.post("/api/chat", json=OL).status_code == 200  # Ollama has no auth


def test_rate_limit_errors_in_vendor_formats(client, srv):
    err = Script(
        status=429,
        headers={"Retry-After": "7", "x-ratelimit-remaining-requests": "0"},
        error_message="slow down",
    )
    srv.enqueue("*", *[err] * 4)
    r = client.post("/v1/chat/completions", json={**OA, "stream": True})
    assert r.status_code == 429 and r.headers["retry-after"] == "7"
    assert r.json()["error"] == {
        "message": "slow down",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    r = client.post("/v1/messages", json=AN, headers=AN_H)
    assert r.headers["retry-after"] == "7" and r.json()["type"] == "error"
    assert r.json()["error"] == {"type": "rate_limit_error", "message": "slow down"}
    r = client.post(f"{GEM}:streamGenerateContent?alt=sse", json={})
    assert r.json() == {"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}}
    r = client.post("/api/chat", json=OL)
    assert r.status_code == 429 and r.json() == {"error": "slow down"}
    srv.enqueue(
        "*",
        Script(status=529),
        Script(status=500, error_code="insufficient_quota", error_type="insufficient_quota"),
    )
    assert client.post("/v1/messages", json=AN, headers=AN_H).json()["error"]["type"] == "overloaded_error"
    e = client.post("/v1/chat/completions", json=OA).json()["error"]
    assert (e["type"], e["code"]) == ("insufficient_quota", "insufficient_quota")


# ---------------------------------------------------------------- faults


def test_reset_after_pieces(client, srv):
    srv.enqueue("*", Script(reset_after_pieces=2))
    got = []
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        with client.stream("POST", "/v1/chat/completions", json={**OA, "stream": True}) as r:
            for line in r.iter_lines():
                got.append(line)
    contents = [
        json.loads(x[6:])["choices"][0]["delta"].get("content") for x in got if x.startswith("data: {")
    ]
    assert contents[:3] == ["", "Hello", ", "] and len(contents) == 3


def test_stall_after_headers_and_pieces(srv):
    srv.enqueue(
        "*", Script(stall_after_headers=True), Script(stall_after_pieces=1), Script(stall_after_headers=True)
    )
    with httpx.Client(base_url=srv.base_url, timeout=httpx.Timeout(5, read=0.25)) as c:
        with c.stream("POST", "/v1/messages", json={**AN, "stream": True}, headers=AN_H) as r:
            assert r.status_code == 200
            with pytest.raises(httpx.ReadTimeout):
                r.read()
        lines = []
        with pytest.raises(httpx.ReadTimeout):
            with c.stream("POST", "/api/chat", json=OL) as r:
                for line in r.iter_lines():
                    lines.append(line)
        assert len(lines) == 1 and json.loads(lines[0])["message"]["content"] == "Hello"
        with pytest.raises(httpx.ReadTimeout):
            c.post("/v1/chat/completions", json=OA)  # non-stream: headers, then nothing


def test_malformed_and_midstream_errors(client, srv):
    srv.enqueue("*", Script(malformed_after_pieces=1))
    _, evs = openai_stream(client)
    assert (None, "{not json") in evs and evs[-1] == (None, "[DONE]")

    srv.enqueue("*", Script(midstream_error=True, error_message="Overloaded"))
    evs = sse(client.post("/v1/messages", json={**AN, "stream": True}, headers=AN_H).text)
    assert evs[-1][0] == "error" and "message_stop" not in [e for e, _ in evs]
    assert json.loads(evs[-1][1])["error"] == {"type": "overloaded_error", "message": "Overloaded"}

    srv.enqueue("*", Script(midstream_error=True, midstream_error_after_pieces=2))
    _, evs = openai_stream(client)
    assert "error" in json.loads(evs[-1][1]) and (None, "[DONE]") not in evs

    srv.enqueue("*", Script(midstream_error=True, error_message="boom"))
    assert client.post("/api/chat", json=OL).text.splitlines()[-1] == '{"error":"boom"}'

    srv.enqueue("*", Script(midstream_error=True))
    evs = sse(client.post(f"{GEM}:streamGenerateContent?alt=sse", json={}).text)
    assert json.loads(evs[-1][1])["error"]["status"] == "INTERNAL"


def test_html_page_oversize_drip(client, srv):
    srv.enqueue("*", Script(html_error_page=True), Script(html_error_page=True, status=502))
    r = client.post("/v1/chat/completions", json={**OA, "stream": True})
    assert (
        r.status_code == 200 and r.headers["content-type"].startswith("text/html") and "cloudflare" in r.text
    )
    r = client.post("/v1/messages", json=AN, headers=AN_H)
    assert r.status_code == 502 and "Bad Gateway" in r.text and r.headers["server"] == "cloudflare"

    srv.enqueue("*", Script(oversize_bytes=300_000))
    r, evs = openai_stream(client)
    assert len(r.content) >= 300_000 and evs[-1] == (None, "[DONE]")
    assert all(json.loads(d) for _, d in evs[:-1])

    srv.enqueue("*", Script(drip_bytes_per_s=10_000))
    t = time.perf_counter()
    r = client.post("/v1/messages", json=AN, headers=AN_H)
    assert r.json()["content"][0]["text"] == "Hello, world."
    assert time.perf_counter() - t >= 0.8 * len(r.content) / 10_000


def test_keep_alive_and_close(client, srv):
    for _ in range(3):
        assert client.post("/api/chat", json={**OL, "stream": False}).headers["connection"] == "keep-alive"
    r = client.post("/api/chat", json=OL, headers={"Connection": "close"})
    assert r.headers["connection"] == "close"
    srv.enqueue("*", Script(close_after_response=True))
    assert client.post("/api/chat", json=OL).headers["connection"] == "close"
    client.post("/api/chat", json=OL)
    ids = [rec.conn_id for rec in srv.requests]
    assert ids[0] == ids[1] == ids[2] == ids[3] and ids[4] != ids[3] and ids[5] != ids[4]


# ---------------------------------------------------------------- timing, load, process


def test_first_token_delay_precision(client, srv):
    for proto_call in (
        lambda: openai_stream(client),
        lambda: client.post("/v1/messages", json={**AN, "stream": True}, headers=AN_H),
        lambda: client.post("/api/chat", json=OL),
    ):
        srv.enqueue("*", Script(first_token_delay_ms=40, interval_ms=10))
        t = time.perf_counter()
        proto_call()
        elapsed = time.perf_counter() - t
        rec = srv.requests[-1]
        ttft = rec.first_token_written_at - rec.read_at
        # A sleep is never early, only late when the machine is busy (CI runs other work too):
        # the bounds catch a hold that is missing or doubled, not scheduler noise.
        assert 0.039 <= ttft < 0.040 + SLACK_S, ttft
        # Pieces keep to deadlines from the scheduled first token (no drift), so a first token
        # written late shortens the gap after it: the lower bound runs from the request's read.
        assert rec.ended_at - rec.read_at >= 0.069
        assert rec.ended_at - rec.first_token_written_at < 0.030 + SLACK_S
        assert elapsed >= 0.070


async def _hammer(port: int, conns: int, per_conn: int) -> int:
    body = json.dumps({**OL, "stream": False}).encode()
    req = (
        b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%b" % (len(body), body)
    )

    async def one():
        r, w = await asyncio.open_connection("127.0.0.1", port)
        ok = 0
        for _ in range(per_conn):
            w.write(req)
            head = await r.readuntil(b"\r\n\r\n")
            n = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            ok += b'"done":true' in await r.readexactly(n)
        w.close()
        return ok

    return sum(await asyncio.gather(*[one() for _ in range(conns)]))


def test_many_concurrent_keepalive_connections(srv):
    srv.record = False
    try:
        assert asyncio.run(_hammer(srv.port, 500, 2)) == 1000
    finally:
        srv.record = True


def test_separate_process_uvloop():
    with subprocess.Popen(
        [sys.executable, "-m", "tests.vendor_server", "--port", "0", "--uvloop"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as p:
        _drive_process(p)


def _drive_process(p: subprocess.Popen):
    try:
        line = p.stdout.readline()
        assert line.startswith("LISTENING ")
        base = f"http://127.0.0.1:{int(line.split()[1])}"
        with httpx.Client(base_url=base, timeout=5) as c:
            c.post("/__control/enqueue", json={"model": "*", "scripts": [{"first_token_delay_ms": 30}] * 3})
            for _ in range(3):
                r = c.post("/v1/chat/completions", json={**OA, "stream": True})
                assert sse(r.text)[-1] == (None, "[DONE]")
            recs = c.get("/__control/requests").json()
            # median: another process shares the two cores, one unlucky preemption is not the server's fault
            ttft = sorted(x["first_token_written_at"] - x["read_at"] for x in recs)[1]
            assert 0.029 <= ttft < 0.030 + SLACK_S
    finally:
        p.terminate()
        assert p.wait(5) == 0


# ---------------------------------------------------------------- load profiles


async def _burst(
    base: str, n: int, path: str = "/v1/chat/completions", body=None, **kw
) -> list[httpx.Response]:
    """n requests at once, on n connections opened beforehand (connect time stays out)."""
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=base, timeout=5, limits=limits) as c:
        await asyncio.gather(*[c.get("/__control/requests") for _ in range(n)])  # warm n connections
        return list(
            await asyncio.gather(*[c.post(path, json=body or {**OA, "stream": True}, **kw) for _ in range(n)])
        )


def test_load_slots_queue_in_waves(srv):
    srv.set_load("gpt-4o-mini", LoadProfile(slots=2, service_ms=100))
    srv.enqueue("*", *[Script(first_token_delay_ms=999)] * 6)  # service_ms overrides the script's delay
    rs = asyncio.run(_burst(srv.base_url, 6))
    assert all(r.status_code == 200 and sse(r.text)[-1] == (None, "[DONE]") for r in rs)
    recs = sorted((r for r in srv.requests if r.protocol == "openai"), key=lambda r: r.slot_acquired_at)
    assert len(recs) == 6 and srv.pending() == 0
    for i, rec in enumerate(recs):
        wave = i // 2
        ttft_ms = (rec.first_token_written_at - rec.read_at) * 1000
        # A slot is held for its whole service time, so each wave waits for the one before; a
        # request read late (the server reads six at once) waits a little less, a busy machine more.
        assert 100 * (wave + 1) - 50 <= ttft_ms < 100 * (wave + 1) + SLACK_MS, (i, ttft_ms)
        assert 100 * wave - 50 <= rec.queued_ms < 100 * wave + SLACK_MS, (i, rec.queued_ms)
        service_ms = (rec.first_token_written_at - rec.slot_acquired_at) * 1000
        assert 100 <= service_ms < 100 + SLACK_MS, (i, service_ms)  # from slot acquisition
    st = srv.stats("gpt-4o-mini")
    assert st["requests"] == st["served"] == 6 and (st["max_in_flight"], st["max_queued"]) == (6, 4)
    assert (st["rejected_429"], st["errors_injected"], st["queued"]) == (0, 0, 0)
    deadline = time.monotonic() + 1  # the last request stops counting just after its final bytes
    while srv.stats("gpt-4o-mini")["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.001)
    assert srv.stats("gpt-4o-mini")["in_flight"] == 0
    assert srv.stats("gpt-4o") == srv.stats("*") == {k: 0 for k in st}  # other models: untouched


def test_load_rate_cap_answers_429_with_retry_after(srv):
    srv.set_load("*", LoadProfile(max_concurrent=3, service_ms=200, retry_after_s=0.2))
    rs = asyncio.run(_burst(srv.base_url, 5, "/v1/messages", AN, headers=AN_H))
    codes = sorted(r.status_code for r in rs)
    assert codes == [200, 200, 200, 429, 429]
    for r in rs:
        if r.status_code == 429:
            assert r.headers["retry-after"] == "0.2" and r.headers["x-ratelimit-remaining-requests"] == "0"
            assert r.json()["error"]["type"] == "rate_limit_error"  # the vendor's own format
    rejected = [x for x in srv.requests if x.status == 429]
    assert len(rejected) == 2 and all(x.script is None and x.queued_ms is None for x in rejected)
    st = srv.stats("claude-sonnet-4-20250514")  # falls back to the "*" profile
    assert (st["requests"], st["served"], st["rejected_429"], st["max_in_flight"]) == (5, 3, 2, 3)
    # default Retry-After is a whole second; OpenAI format
    srv.set_load("*", LoadProfile(max_concurrent=0))
    r = httpx.post(srv.base_url + "/v1/chat/completions", json=OA)
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert r.json()["error"]["code"] == "rate_limit_exceeded"
    srv.set_load("*", None)
    assert httpx.post(srv.base_url + "/v1/chat/completions", json=OA).status_code == 200
    assert srv.stats()["rejected_429"] == 1  # stats of a removed profile stay readable


def test_load_error_rate_is_deterministic(client, srv):
    srv.set_load("llama3.2", LoadProfile(error_rate=0.3, seed=0))
    srv.enqueue("llama3.2", *[Script(text_pieces=[str(i)]) for i in range(20)])
    rng = random.Random(0)
    expected = [rng.random() < 0.3 for _ in range(20)]
    got = [client.post("/api/chat", json={**OL, "stream": False}) for _ in range(20)]
    assert [r.status_code == 503 for r in got] == expected and 0 < sum(expected) < 20
    assert all(r.json() == {"error": "Service unavailable."} for r in got if r.status_code == 503)
    # failed requests consume no script: the served ones get them in order
    assert [r.json()["message"]["content"] for r in got if r.status_code == 200] == [
        str(i) for i in range(20 - sum(expected))
    ]
    st = srv.stats("llama3.2")
    assert (st["requests"], st["errors_injected"], st["served"]) == (20, sum(expected), 20 - sum(expected))
    srv.set_load("llama3.2", LoadProfile(error_rate=1.0, error_status=529))  # a fresh profile: fresh stats
    r = client.post("/v1/messages", json={**AN, "model": "llama3.2"}, headers=AN_H)
    assert r.status_code == 529 and r.json()["error"]["type"] == "overloaded_error"
    assert srv.stats("llama3.2")["requests"] == 1
    srv.reset()
    assert client.post("/api/chat", json=OL).status_code == 200 and srv.stats("llama3.2")["requests"] == 0


def test_rate_limit_headers_count_down_in_each_vendors_format(client, srv):
    srv.set_load("gpt-4o-mini", LoadProfile(limit_requests=3, limit_tokens=100, tokens_per_request=30,
                                            window_s=30))
    rs = [client.post("/v1/chat/completions", json=OA) for _ in range(4)]
    assert [r.status_code for r in rs] == [200, 200, 200, 429]
    assert [r.headers["x-ratelimit-remaining-requests"] for r in rs] == ["2", "1", "0", "0"]
    assert [r.headers["x-ratelimit-remaining-tokens"] for r in rs] == ["70", "40", "10", "10"]
    assert {r.headers["x-ratelimit-limit-requests"] for r in rs} == {"3"}
    assert {r.headers["x-ratelimit-limit-tokens"] for r in rs} == {"100"}
    assert re.fullmatch(r"(29(\.\d+)?|30)s", rs[0].headers["x-ratelimit-reset-requests"])
    assert "retry-after" not in rs[0].headers and 28 <= float(rs[3].headers["retry-after"]) <= 30
    assert rs[3].json()["error"]["code"] == "rate_limit_exceeded"
    recs = [x for x in srv.requests if x.protocol == "openai"]
    assert [x.headers_sent for x in recs] == [{k: v for k, v in r.headers.items() if "ratelimit" in k or
                                               k == "retry-after"} for r in rs]  # the log says what was sent
    st = srv.stats("gpt-4o-mini")
    assert (st["requests"], st["served"], st["rejected_429"], st["rejected_limit"]) == (4, 3, 1, 1)

    # Anthropic: its own names, RFC 3339 reset times; the token budget runs out first.
    # (a window a busy machine cannot outlast between three requests)
    srv.set_load("*", LoadProfile(limit_requests=10, limit_tokens=50, tokens_per_request=20, window_s=1.5))
    rs = [client.post("/v1/messages", json=AN, headers=AN_H) for _ in range(3)]
    assert [r.status_code for r in rs] == [200, 200, 429]
    assert [r.headers["anthropic-ratelimit-requests-remaining"] for r in rs] == ["9", "8", "8"]
    assert [r.headers["anthropic-ratelimit-tokens-remaining"] for r in rs] == ["30", "10", "10"]
    assert rs[0].headers["anthropic-ratelimit-tokens-limit"] == "50"
    reset = datetime.fromisoformat(rs[0].headers["anthropic-ratelimit-requests-reset"].replace("Z", "+00:00"))
    assert 0 <= reset.timestamp() - time.time() <= 2.5  # whole seconds in RFC 3339
    assert not any(k.startswith("x-ratelimit") for k in rs[0].headers)
    assert float(rs[2].headers["retry-after"]) <= 1.5 and rs[2].json()["error"]["type"] == "rate_limit_error"
    time.sleep(1.55)  # the window ends: a fresh budget
    r = client.post("/v1/messages", json=AN, headers=AN_H)
    assert r.status_code == 200 and r.headers["anthropic-ratelimit-requests-remaining"] == "9"
    # Gemini and Ollama send no rate-limit headers (as the real ones); injected errors carry them too.
    r = client.post(GEM + ":generateContent", json={"contents": [{"parts": [{"text": "hi"}]}]})
    assert r.status_code == 200 and not any("ratelimit" in k for k in r.headers)
    srv.set_load("*", LoadProfile(limit_requests=5, error_rate=1.0, ratelimit_style="openai"))
    r = client.post("/v1/messages", json=AN, headers=AN_H)
    assert r.status_code == 503 and r.headers["x-ratelimit-remaining-requests"] == "4"


def test_request_id_headers_can_be_left_out(client, srv):
    srv.enqueue("gpt-4o-mini", Script(request_id_headers=False))
    r, evs = openai_stream(client)
    assert "x-request-id" not in r.headers and "request-id" not in r.headers
    rid = srv.requests[-1].request_id
    assert json.loads(evs[0][1])["id"] == "chatcmpl-" + rid[4:]  # the body still names it


def test_load_profile_validation():
    for bad in ({"limit_requests": -1}, {"window_s": 0}, {"ratelimit_style": "azure"}):
        with pytest.raises(ValueError):
            LoadProfile(**bad)
    for bad in ({"slots": 0}, {"error_rate": 1.5}, {"error_status": 200}, {"max_concurrent": -1}):
        with pytest.raises(ValueError):
            LoadProfile(**bad)


def test_load_control_api_in_separate_process():
    with subprocess.Popen(
        [sys.executable, "-m", "tests.vendor_server", "--port", "0", "--uvloop"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as p:
        try:
            base = f"http://127.0.0.1:{int(p.stdout.readline().split()[1])}"
            with httpx.Client(base_url=base, timeout=5) as c:
                prof = {"slots": 1, "service_ms": 50, "max_concurrent": 3, "retry_after_s": 0.5}
                assert c.post("/__control/load", json={"model": "gpt-4o-mini", "profile": prof}).json() == {
                    "ok": True
                }
                bad = c.post("/__control/load", json={"model": "x", "profile": {"slots": 0}})
                assert bad.status_code == 400
                rs = asyncio.run(_burst(base, 4))
                assert sorted(r.status_code for r in rs) == [200, 200, 200, 429]
                assert [r.headers["retry-after"] for r in rs if r.status_code == 429] == ["0.5"]
                recs = sorted(
                    (x for x in c.get("/__control/requests").json() if x["slot_acquired_at"]),
                    key=lambda x: x["slot_acquired_at"],
                )
                assert [round(x["queued_ms"] / 50) for x in recs] == [0, 1, 2]
                st = c.get("/__control/stats", params={"model": "gpt-4o-mini"}).json()
                assert (st["requests"], st["served"], st["rejected_429"], st["max_queued"]) == (4, 3, 1, 2)
                assert c.post("/__control/stats", json={"model": "gpt-4o-mini"}).json() == st
                c.post("/__control/load", json={"model": "gpt-4o-mini", "profile": None})
                assert c.post("/v1/chat/completions", json=OA).json()["choices"]
                c.post("/__control/reset")
                assert c.get("/__control/stats?model=gpt-4o-mini").json()["requests"] == 0
        finally:
            p.terminate()
            assert p.wait(5) == 0
