"""A configured API key a vendor sends back is kept out of every field desk stores, exports
or shows, not only the answer's text: tool-call names, arguments and the problems found in
them (checked on what the model sent, the verdict kept), the raw JSON of fields desk does
not read, what the vendor says it served, request ids, rate-limit headers and error texts
(another provider's key too). The store's files and an export are read byte for byte."""

from __future__ import annotations

import asyncio
import json

import pytest

from desk.core.response import Status
from desk.core.tools import read_tools
from desk.core.trial import TrialInput
from desk.engine.services.exports import ExportParams
from desk.engine.session import Engine
from tests.engine.conftest import KINDS, config_for, engine_for, ref, script_for
from tests.vendor_server import Script

# No vendor prefix (sk-...): desk's generic patterns would hide it and mask a missing scrub.
KEY = "hsec-ECHO-0123456789abcdefXYZ"
OTHER = "hsec-OTHER-9876543210zyxwvuTS"

# A schema the echoed key fits and [REDACTED] does not (the verdict must be on what was
# sent), and one it breaks (the problem quotes the value).
TOOLS = read_tools(json.dumps([
    {"name": "get_weather", "description": "Weather in a city", "parameters": {
        "type": "object", "required": ["city"], "properties": {"city": {"type": "string", "pattern": "^hsec-"}}}},
    {"name": "get_code", "description": "A code", "parameters": {
        "type": "object", "properties": {"code": {"type": "string", "maxLength": 8}}}},
]))


def echo_calls(key: str) -> Script:
    """Two tool calls whose arguments carry `key` split across deltas (joined where the
    vendor sends arguments whole: Gemini, Ollama)."""
    return Script(tool_calls=[("get_weather", ['{"city": "', key[:9], key[9:], '"}']),
                              ("get_code", ['{"code": "', key[:15], key[15:] + '"}'])])


class Watch:
    """A live view: every tool-call state it was shown."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def response_started(self, result): pass
    def text_received(self, result, delta, parts): pass
    def attempt_finished(self, result, attempt): pass
    def response_finished(self, result): pass

    def tool_calls_received(self, result, calls):
        self.calls.append(json.dumps([[c.name, c.arguments, c.id] for c in calls]))


def stored_bytes(tmp_path) -> bytes:
    return b"".join(p.read_bytes() for p in tmp_path.glob("engine.db*"))


def exported(store, tmp_path) -> str:
    out = tmp_path / "out.jsonl"
    engine = Engine(store)
    engine.exports.export(ExportParams("jsonl", str(out)))
    asyncio.run(engine.aclose())
    return out.read_text(encoding="utf-8")


def run(store, trial, kinds, watch=None):
    async def go():
        async with engine_for(store) as engine:
            return (await engine.trials.run(trial, [ref(k) for k in kinds], sink=watch)).responses

    return asyncio.run(go())


def rate(store, result):
    store.ratings.save(result.id, "ann", {"outcome": "success", "uncertainty": "confident_correct",
                                          "constraints": "na", "quality": 3})


@pytest.mark.parametrize("kind", KINDS)
def test_a_key_echoed_in_tool_call_arguments_is_checked_then_scrubbed(kind, store, vendor, tmp_path, monkeypatch):
    monkeypatch.setenv("DESK_TEST_HSEC_KEY", KEY)
    store.providers.add(config_for(kind, vendor, key_env="DESK_TEST_HSEC_KEY"))
    script_for(vendor, kind, echo_calls(KEY))
    watch = Watch()
    (result,) = run(store, TrialInput("Weather and code?", tools=TOOLS), [kind], watch)
    assert result.status is Status.OK, result.error_message
    weather, code = result.tool_calls
    assert weather.arguments == '{"city": "[REDACTED]"}' and weather.valid  # checked on what was sent
    assert code.arguments == '{"code": "[REDACTED]"}'
    assert code.problems == ["arguments.code: '[REDACTED]' is too long"]
    (note,) = result.notes
    assert f"API key of provider '{kind}' verbatim (in tool-call arguments)" in note
    assert watch.calls and not [shown for shown in watch.calls if KEY[:9] in shown or KEY[9:] in shown]
    again = store.responses.get(result.id)
    assert [c.problems for c in again.tool_calls] == [[], code.problems] and again.notes == [note]
    rate(store, result)
    export = exported(store, tmp_path)
    assert "[REDACTED]" in export and KEY not in export
    assert KEY.encode() not in stored_bytes(tmp_path)


def test_tool_call_names_and_ids_are_scrubbed(store, vendor, tmp_path, monkeypatch):
    monkeypatch.setenv("DESK_TEST_HSEC_KEY", KEY)
    store.providers.add(config_for("openai", vendor, key_env="DESK_TEST_HSEC_KEY"))
    script_for(vendor, "openai", Script(tool_calls=[(f"tool_{KEY}", ['{}'])]))
    watch = Watch()
    (result,) = run(store, TrialInput("Call it.", tools=TOOLS), ["openai"], watch)
    (call,) = result.tool_calls
    assert call.name == "tool_[REDACTED]" and call.problems == ["no tool named 'tool_[REDACTED]'"]
    assert watch.calls and all(KEY not in shown for shown in watch.calls)
    assert "tool-call names" in result.notes[0]
    assert KEY.encode() not in stored_bytes(tmp_path)


def _openai_stream_with(unknown: dict) -> list[str]:
    def chunk(delta: dict, finish: str | None = None) -> str:
        obj = {"id": "chatcmpl-hsec", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(obj)}\n\n"

    return [chunk({"role": "assistant", "content": "Hi"}), chunk({"content": "!", **unknown}),
            chunk({}, "stop"), "data: [DONE]\n\n"]


def test_unknown_fields_raw_json_is_scrubbed(store, vendor, tmp_path, monkeypatch):
    monkeypatch.setenv("DESK_TEST_HSEC_KEY", KEY)
    store.providers.add(config_for("openai", vendor, key_env="DESK_TEST_HSEC_KEY"))
    script_for(vendor, "openai", Script(replay=_openai_stream_with({"x_echo": f"key {KEY}"})))
    (result,) = run(store, TrialInput("Hi"), ["openai"])
    assert result.status is Status.OK and result.text == "Hi!"
    (field,) = result.unknown_fields.values()
    assert field.raw == ['"key [REDACTED]"'] and "fields desk does not read" in result.notes[0]
    rate(store, result)
    assert KEY not in exported(store, tmp_path)
    assert KEY.encode() not in stored_bytes(tmp_path)


def test_served_model_request_id_and_rate_limit_headers_are_scrubbed(store, vendor, tmp_path, monkeypatch):
    monkeypatch.setenv("DESK_TEST_HSEC_KEY", KEY)
    store.providers.add(config_for("openai", vendor, key_env="DESK_TEST_HSEC_KEY"))
    script_for(vendor, "openai", Script(
        served_model=f"gpt-{KEY}", fingerprint=f"fp_{KEY}", request_id_headers=False,
        headers={"x-request-id": f"req_{KEY}", "x-ratelimit-remaining-requests": f"9 {KEY}"}))
    (result,) = run(store, TrialInput("Hi"), ["openai"])
    assert result.status is Status.OK
    assert (result.served_model, result.system_fingerprint) == ("gpt-[REDACTED]", "fp_[REDACTED]")
    assert result.vendor_request_id == "req_[REDACTED]"
    assert result.attempts[0].ratelimit["x-ratelimit-remaining-requests"] == "9 [REDACTED]"
    notes = " ".join(result.notes)
    assert "(in the served model)" in notes and "(in a request id, rate-limit headers)" in notes
    rate(store, result)
    assert KEY not in exported(store, tmp_path)
    assert KEY.encode() not in stored_bytes(tmp_path)


def test_an_error_text_quoting_another_providers_key_is_scrubbed(store, vendor, tmp_path, monkeypatch):
    monkeypatch.setenv("DESK_TEST_HSEC_KEY", KEY)
    monkeypatch.setenv("DESK_TEST_HSEC_OTHER", OTHER)
    store.providers.add(config_for("openai", vendor, key_env="DESK_TEST_HSEC_KEY"))
    store.providers.add(config_for("anthropic", vendor, key_env="DESK_TEST_HSEC_OTHER"))
    script_for(vendor, "openai", Script(status=400, error_message=f"unknown parameter near {OTHER}"))
    failed, answered = run(store, TrialInput("Hi"), ["openai", "anthropic"])
    assert failed.status is Status.ERROR and answered.status is Status.OK
    assert "unknown parameter near [REDACTED]" in failed.error_message
    assert all(OTHER not in (a.error_message or "") for a in failed.attempts)
    assert "provider 'anthropic'" in failed.notes[0] and "an error message" in failed.notes[0]
    assert OTHER.encode() not in stored_bytes(tmp_path)


ANSWER_SCHEMA = {"type": "object", "required": ["token"], "properties": {
    "token": {"type": "string", "pattern": "^hsec-"}, "code": {"type": "string", "maxLength": 8}}}


def test_structured_output_is_checked_on_what_was_sent_and_the_verdict_kept(store, vendor, tmp_path, monkeypatch):
    from desk.core.structured import verdict_for
    from desk.core.trial import GenerationSettings

    monkeypatch.setenv("DESK_TEST_HSEC_KEY", KEY)
    store.providers.add(config_for("openai", vendor, key_env="DESK_TEST_HSEC_KEY"))
    script_for(vendor, "openai", Script(text_pieces=['{"token": "', KEY[:9], KEY[9:], f'", "code": "{KEY}"}}']))

    async def go():
        async with engine_for(store) as engine:
            return await engine.trials.run(TrialInput("JSON please"), [ref("openai")],
                                           GenerationSettings(response_schema=ANSWER_SCHEMA))

    (result,) = asyncio.run(go()).responses
    assert result.text == '{"token": "[REDACTED]", "code": "[REDACTED]"}'
    for r in (result, store.responses.get(result.id)):
        verdict = verdict_for(r.text, r.settings, r.status is Status.OK, r.structured_verdict)
        # The token fit its pattern as sent; only the code was too long, said without the key.
        assert verdict.lines() == ["structured output: parsed, INVALID at answer.code: '[REDACTED]' is too long"]
    assert KEY.encode() not in stored_bytes(tmp_path)


@pytest.mark.parametrize(("outcome", "saved"), [("success", "rationale"), (KEY, "error")])
def test_a_judge_echoing_a_key_is_stored_without_it(outcome, saved, store, vendor, tmp_path, monkeypatch):
    """The judge's rationale, and on a judge error its message and raw reply, come from its
    answer's scrubbed text (already before this work: this proves it)."""
    from desk.core.trial import ModelRef
    from tests.engine.test_judge import JUDGE_MODEL, NO_RETRY, _answers

    monkeypatch.setenv("DESK_TEST_HSEC_KEY", KEY)
    for kind in ("openai", "ollama"):
        store.providers.add(config_for(kind, vendor))
    store.providers.add(config_for("openai", vendor, name="judge", key_env="DESK_TEST_HSEC_KEY"))
    trial_id = _answers(store, vendor)
    reply = json.dumps({"outcome": outcome, "uncertainty": "confident_correct", "constraints": "na",
                        "quality": 4, "rationale": f"It quotes {KEY}."})
    cut = reply.index(KEY) + 9
    vendor.set_default(JUDGE_MODEL, Script(text_pieces=[reply[:cut], reply[cut:]]))

    async def go():
        async with engine_for(store, retry=NO_RETRY) as engine:
            return await engine.judges.judge_trial(trial_id, ModelRef("judge", JUDGE_MODEL))

    summary = asyncio.run(go())
    verdicts = store.verdicts.list(f"judge:judge/{JUDGE_MODEL}")
    assert len(verdicts) == 2
    if saved == "rationale":
        assert summary.verdicts == 2 and all(v.rationale == "It quotes [REDACTED]." for v in verdicts)
    else:
        assert summary.errors == 2
        assert all("'[REDACTED]' is not one of" in v.error and "[REDACTED]" in v.raw for v in verdicts)
    assert KEY.encode() not in stored_bytes(tmp_path)


def test_an_ollama_digest_echoing_a_key_is_scrubbed(store, vendor, tmp_path, monkeypatch):
    from tests.engine.conftest import MODELS

    monkeypatch.setenv("DESK_TEST_HSEC_KEY", KEY)
    # Its own name: the digest is cached per provider name for the session.
    store.providers.add(config_for("ollama", vendor, name="hsec_ollama", key_env="DESK_TEST_HSEC_KEY"))
    vendor.digests[MODELS["ollama"]] = f"sha256:{KEY}"
    (result,) = run_refs(store, [ref("ollama", name="hsec_ollama")])
    assert result.status is Status.OK and result.system_fingerprint == "sha256:[REDACTED]"
    assert KEY.encode() not in stored_bytes(tmp_path)


def run_refs(store, refs):
    async def go():
        async with engine_for(store) as engine:
            return (await engine.trials.run(TrialInput("Hi"), refs)).responses

    return asyncio.run(go())
