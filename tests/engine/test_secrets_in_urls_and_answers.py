"""Credentials never enter the providers table through a base URL, and an answer that
repeats one of your configured keys is stored without it, with a note saying so."""

from __future__ import annotations

import asyncio

import pytest

from desk.core.provider import ProviderConfig
from desk.core.response import Status
from desk.core.trial import TrialInput
from desk.engine.session import EngineError
from desk.store.errors import StoreError
from tests.engine.conftest import MODELS, config_for, engine_for, ref, run_many, run_one, script_for
from tests.vendor_server import Script

KEY = "sk-test-ECHOED-0123456789abcdef"
OTHER_KEY = "local-proxy-token-9876543210zyx"  # the key of another configured provider
PASSWORD = "pa55word-SECRET-77"


def db_bytes(store) -> bytes:
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    path = store.db.conn.execute("PRAGMA database_list").fetchone()[2]
    return open(path, "rb").read()


@pytest.mark.parametrize("url", [f"http://user:{PASSWORD}@127.0.0.1:9/v1",
                                 f"https://{PASSWORD}@api.example.com/v1",
                                 f"http://user:{PASSWORD}@127.0.0.1:99999 /v1"])
def test_a_base_url_with_credentials_is_refused_without_echoing_them(url, store):
    async def go() -> None:
        async with engine_for(store) as engine:
            with pytest.raises(EngineError) as info:
                engine.providers.save_provider(ProviderConfig("p", "openai", url), new=True)
            message = str(info.value)
            assert PASSWORD not in message
            assert "must not carry a user name or password" in message and "set-key" in message

    asyncio.run(go())
    with pytest.raises(StoreError):  # the store refuses it too, whoever asks
        store.providers.add(ProviderConfig("p", "openai", url))
    assert store.providers.all() == []
    assert PASSWORD.encode() not in db_bytes(store)


def test_editing_a_provider_to_add_credentials_is_refused(store):
    store.providers.add(ProviderConfig("p", "openai", "http://127.0.0.1:9/v1"))
    with pytest.raises(StoreError):
        store.providers.update(ProviderConfig("p", "openai", f"http://u:{PASSWORD}@127.0.0.1:9/v1"))
    assert store.providers.get("p").base_url == "http://127.0.0.1:9/v1"


def test_a_key_split_across_deltas_is_stored_redacted_with_a_note(store, vendor, monkeypatch):
    monkeypatch.setenv("DESK_TEST_ECHO_KEY", KEY)
    vendor.api_key = KEY
    store.providers.add(config_for("openai", vendor, key_env="DESK_TEST_ECHO_KEY"))
    script_for(vendor, "openai", Script(text_pieces=["Your key is ", KEY[:9], KEY[9:], ", keep it safe."]))
    _, r = run_one(store, "openai")
    assert r.status == Status.OK
    assert r.text == "Your key is [REDACTED], keep it safe."
    assert r.notes == ["the answer contained the API key of provider 'openai' verbatim; desk stored it as "
                       "[REDACTED] (if the model could see that key, replace it with the vendor)"]
    got = store.responses.get(r.id)
    assert (got.text, got.notes) == (r.text, r.notes)
    assert KEY.encode() not in db_bytes(store)


def test_another_providers_key_in_an_answer_is_redacted_too(store, vendor, monkeypatch):
    monkeypatch.setenv("DESK_TEST_OTHER_KEY", OTHER_KEY)
    store.providers.add(config_for("openai", vendor))
    store.providers.add(config_for("ollama", vendor, key_env="DESK_TEST_OTHER_KEY"))
    script_for(vendor, "openai", Script(text_pieces=["token=", OTHER_KEY]))
    _, (leaky, clean) = run_many(store, [ref("openai"), ref("ollama")])
    assert leaky.text == "token=[REDACTED]" and "provider 'ollama'" in leaky.notes[0]
    assert clean.status == Status.OK and clean.notes == []
    assert OTHER_KEY.encode() not in db_bytes(store)


def test_text_stored_while_streaming_is_redacted_already(store, vendor, monkeypatch):
    """A crash mid-answer leaves what was flushed so far: that must not hold the key."""
    monkeypatch.setenv("DESK_TEST_ECHO_KEY", KEY)
    store.providers.add(config_for("openai", vendor, key_env="DESK_TEST_ECHO_KEY"))
    script_for(vendor, "openai", Script(text_pieces=["a ", KEY, " b", " c", " d"], interval_ms=300))
    seen: list[str] = []

    class Watch:
        def response_started(self, result): pass
        def attempt_finished(self, result, attempt): pass
        def response_finished(self, result): pass

        def text_received(self, result, delta, parts):
            seen.append(store.responses.get(result.id).text)  # the recorder has written first

    async def go() -> None:
        async with engine_for(store) as engine:
            await engine.trials.run(TrialInput("Say it."), [ref("openai")], sink=Watch())

    asyncio.run(go())
    assert any("[REDACTED]" in text for text in seen), seen
    assert not any(KEY in text for text in seen), seen


def test_short_placeholder_keys_are_left_in_answers(store, vendor, monkeypatch):
    monkeypatch.setenv("DESK_TEST_PLACEHOLDER", "ollama")  # what local servers are given as a "key"
    store.providers.add(config_for("ollama", vendor, key_env="DESK_TEST_PLACEHOLDER"))
    script_for(vendor, "ollama", Script(text_pieces=["Run ollama serve."]))
    _, r = run_one(store, "ollama", model=MODELS["ollama"])
    assert r.text == "Run ollama serve." and r.notes == []
