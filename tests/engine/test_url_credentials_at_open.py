"""A password an older desk kept in a provider's base URL (http://user:password@host) leaves
the providers table when the store is opened: to the OS keyring as the provider's key when
it has none, else dropped; the note says so once, and never quotes the password."""

from __future__ import annotations

import pytest

from desk.core.response import Status
from desk.engine.keys import get_api_key, set_api_key
from desk.engine.session import Engine
from desk.engine.url_credentials import secure_stored_urls
from desk.store import Store
from tests.engine.conftest import run_one

SECRET = "pa55@word"  # percent-encoded in the URL


def _old_desk_provider(store: Store, name: str, base_url: str, kind: str = "openai") -> None:
    """What an older desk wrote, before the store refused credentials in a URL."""
    store.db.execute(
        "INSERT INTO providers (id, name, kind, base_url, key_env, api_version, headers_json, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, NULL, NULL, '[]', 0, 0)", (name + "-id", name, kind, base_url))
    store.providers.add_model(name, "gpt-4o-mini")


def test_the_password_moves_to_the_keyring_and_the_provider_still_answers(store, vendor):
    clean = vendor.base_url + "/v1"
    _old_desk_provider(store, "openai", clean.replace("http://", "http://ann:pa55%40word@"))
    vendor.api_key = SECRET

    notes = secure_stored_urls(store)

    assert len(notes) == 1 and "moved to the OS keyring" in notes[0] and "openai" in notes[0], notes
    assert SECRET not in notes[0] and "pa55" not in notes[0]
    config = store.providers.get("openai")
    assert config.base_url == clean
    assert get_api_key(config) == SECRET
    assert "pa55" not in str(store.db.execute("SELECT * FROM providers").fetchall())
    assert secure_stored_urls(store) == []  # said once
    _, result = run_one(store, "openai")  # the moved key is the one sent
    assert result.status is Status.OK, result.error_message
    assert vendor.requests[-1].headers["authorization"] == f"Bearer {SECRET}"


def test_a_provider_with_a_key_keeps_it_and_the_password_is_dropped(store):
    _old_desk_provider(store, "p", "https://ann:other@api.example.test/v1")
    set_api_key("p", "the-real-key")
    (note,) = secure_stored_urls(store)
    assert "removed (it already has a key)" in note and "other" not in note
    config = store.providers.get("p")
    assert config.base_url == "https://api.example.test/v1"
    assert get_api_key(config) == "the-real-key"


def test_with_no_keyring_the_password_is_dropped_and_the_note_says_how_to_give_it():
    from desk.store import open_store
    from tests.keyrings import no_keyring

    with no_keyring(), open_store(":memory:") as store:
        _old_desk_provider(store, "p", "https://tok3n@api.example.test/v1")
        (note,) = secure_stored_urls(store)
        assert "no OS keyring can keep it" in note and "environment variable" in note
        assert "tok3n" not in note
        assert store.providers.get("p").base_url == "https://api.example.test/v1"


def test_switching_to_a_store_secures_it_and_returns_the_note(tmp_path):
    from desk.store import open_store

    other = tmp_path / "colleague.db"
    with open_store(other) as s:
        _old_desk_provider(s, "p", "https://ann:pw123@api.example.test/v1")
    with open_store(tmp_path / "mine.db") as mine:
        engine = Engine(mine)
        notes = engine.switch_store(str(other))
        try:
            assert len(notes) == 1 and "pw123" not in notes[0]
            assert engine.providers.configs.all()[0].base_url == "https://api.example.test/v1"
        finally:
            engine.store.close()


@pytest.mark.parametrize("url", ["http://h/v1", "http://[::1]:9/v1?x=a@b"])
def test_urls_without_credentials_are_left_alone(store, url):
    _old_desk_provider(store, "p", url)
    assert secure_stored_urls(store) == []
    assert store.providers.get("p").base_url == url
