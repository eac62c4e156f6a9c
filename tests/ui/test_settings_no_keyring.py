"""With no OS keyring (a backend that raises on set_password), a key typed into the
providers dialog is never lost in silence: the dialog says so and stays on it, points at
its own environment-variable field, and Test never reports OK for the key that was lost."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("PySide6")


from desk.engine.keys import secret_store
from tests.ui.test_settings_dialog import (  # noqa: F401  (fixtures)
    KEY,
    click,
    fill_provider,
    retype,
    settings_db,
    settings_dialog,
    settings_engine,
    settings_loop,
    settings_vendor,
    wait_idle,
)


def test_secret_store_says_when_no_keyring_can_keep_a_key(no_keyring):
    store = secret_store()
    assert not store.usable and "fail.Keyring" in store.name
    assert "no OS keyring" in store.description and "environment variable" in store.description


def test_a_key_that_cannot_be_kept_is_said_and_never_tested_ok(
        qtbot, no_keyring, settings_dialog, settings_engine, settings_vendor, monkeypatch):  # noqa: F811
    d = settings_dialog
    fill_provider(qtbot, d, "oa", "openai", settings_vendor.base_url + "/v1", KEY)
    click(qtbot, d.test_button)  # Test saves the form first: the key cannot be kept
    wait_idle(qtbot, d)
    said = d.provider_status.text()
    assert "NOT kept" in said and "Key from environment variable" in said and "--key-env" not in said
    assert "Not saved" in said and d.provider_status.property("kind") == "error"
    assert d.key_env_edit.hasFocus()  # the way out
    assert d.api_key_edit.text() == ""  # a key desk cannot keep does not sit in the form
    assert settings_engine.providers.configs.all() == []  # all or nothing: no provider without its key
    assert not any(r.path.endswith("/models") for r in settings_vendor.requests)  # nothing was tested

    # The form's own way out: the key in an environment variable named in the form.
    monkeypatch.setenv("DESK_TEST_OA_KEY", KEY)
    settings_vendor.api_key = KEY
    retype(qtbot, d.key_env_edit, "DESK_TEST_OA_KEY")
    click(qtbot, d.test_button)
    wait_idle(qtbot, d)
    assert re.fullmatch(r"OK · \d+ ms", d.provider_status.text()), d.provider_status.text()

    # A new key typed for the saved provider cannot be kept either: its settings stand as
    # they were, and Test never vouches for the key that was lost.
    retype(qtbot, d.base_url_edit, settings_vendor.base_url + "/v2")
    retype(qtbot, d.api_key_edit, "sk-another-key")
    click(qtbot, d.save_button)
    assert "NOT kept" in d.provider_status.text()
    assert settings_engine.providers.configs.all()[0].base_url == settings_vendor.base_url + "/v1"
    monkeypatch.delenv("DESK_TEST_OA_KEY")
    click(qtbot, d.test_button)
    wait_idle(qtbot, d)
    assert "was not kept" in d.provider_status.text() and "OK" not in d.provider_status.text()


def test_window_says_at_startup_which_secret_store_it_uses(window, qtbot, no_keyring):
    window._show_secret_store()  # what startup does once the window is up (the keyring set just now)
    qtbot.waitUntil(lambda: window.secret_label.text() == "keys: no OS keyring ⚠")  # asked on a worker thread
    assert "environment variable" in window.secret_label.toolTip()


def test_window_names_the_keyring_when_there_is_one(window, qtbot):
    qtbot.waitUntil(lambda: window.secret_label.text() != "")  # shown at startup on its own
    assert window.secret_label.text() == "keys: OS keyring"
    assert "MemoryKeyring" in window.secret_label.toolTip()


def test_the_key_field_says_at_once_that_no_key_can_be_kept(qtbot, no_keyring, settings_dialog):  # noqa: F811
    d = settings_dialog
    qtbot.waitUntil(lambda: d.api_key_edit.placeholderText().startswith("no OS keyring here"))
    assert "Key from environment variable" in d.api_key_edit.placeholderText()
