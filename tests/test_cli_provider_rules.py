"""The provider rules the CLI shares with the settings dialog, seen from the CLI: a provider
whose key the keyring cannot keep is not added at all, and plain http to this machine (any
loopback address, not only the literal 'localhost') is not warned about. The dialog's side
is in tests/ui/test_settings_provider_rules.py; the engine rule is tested here too."""

from __future__ import annotations

import asyncio
import io
import sys

import pytest

from desk.cli import main
from desk.core.provider import ProviderConfig, plain_http_to_remote
from desk.engine.keys import KeyStoreError
from desk.engine.session import Engine
from desk.store.db import open_store

# What counts as this machine, and what does not, for the one rule both surfaces use.
THIS_MACHINE = ("http://localhost:11434", "http://127.0.0.1:1234", "http://127.0.0.2:8080",
                "http://[::1]:8000", "http://ollama.localhost:11434", "https://example.com")
ANOTHER_HOST = ("http://10.0.0.5:11434", "http://example.com", "http://Example.com/v1")



def _add(db, name: str, url: str, capsys, monkeypatch, key: str | None = None) -> tuple[int, str]:
    argv = ["provider", "add", name, "--kind", "openai", "--base-url", url, "--db", str(db)]
    if key is not None:
        argv.append("--key-stdin")
        monkeypatch.setattr(sys, "stdin", io.StringIO(key + "\n"))
    code = main(argv)
    return code, capsys.readouterr().err


def test_cli_warns_of_plain_http_exactly_when_the_shared_rule_says_another_host(tmp_path, capsys, monkeypatch):
    db = tmp_path / "d.db"
    for i, url in enumerate(THIS_MACHINE + ANOTHER_HOST):
        code, err = _add(db, f"p{i}", url, capsys, monkeypatch)
        assert code == 0, err
        warned = "plain http to another host" in err
        assert warned == plain_http_to_remote(url) == (url in ANOTHER_HOST), (url, err)


def test_cli_adds_nothing_when_the_keyring_cannot_keep_the_key(tmp_path, capsys, monkeypatch, no_keyring):
    db = tmp_path / "d.db"
    code, err = _add(db, "oa", "https://api.example.com/v1", capsys, monkeypatch, key="sk-lost-1")
    assert code == 1 and "cannot store the key" in err and "sk-lost-1" not in err
    store = open_store(db)
    try:
        assert store.providers.all() == []  # all or nothing: no provider left without its key
    finally:
        store.close()


def test_engine_puts_an_edited_provider_back_when_its_new_key_cannot_be_kept(tmp_path, no_keyring):
    store = open_store(tmp_path / "d.db")

    async def go() -> None:
        async with Engine(store) as engine:
            old = ProviderConfig("oa", "openai", "https://one.example.com/v1", key_env="DESK_NO_SUCH_VAR")
            engine.providers.save_provider(old, new=True)  # no key given: nothing for the keyring to refuse
            edited = ProviderConfig("oa", "openai", "https://two.example.com/v1")
            with pytest.raises(KeyStoreError):
                engine.providers.save_provider(edited, api_key="sk-lost-2", new=False)
            assert engine.providers.configs.all() == [old]  # the old settings stand
            assert "sk-lost-2" not in repr(engine.providers.configs.all())
            assert engine.providers.unkept_key("oa")  # and a Test will not vouch for the key that was lost
            with pytest.raises(KeyStoreError):
                engine.providers.save_provider(ProviderConfig("new", "openai", "https://x.example.com"), api_key="k",
                                     new=True)
            assert [p.name for p in engine.providers.configs.all()] == ["oa"]

    try:
        asyncio.run(go())
    finally:
        store.close()
