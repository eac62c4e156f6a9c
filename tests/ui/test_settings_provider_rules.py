"""The dialog's side of the provider rules it shares with the CLI (tests/test_cli_provider_rules.py):
the plain-http warning follows core's one rule, and a key the keyring cannot keep leaves no
provider behind, as `desk provider add --key-stdin` does."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from desk.core.provider import plain_http_to_remote
from tests.keyrings import no_keyring
from tests.test_cli_provider_rules import ANOTHER_HOST, THIS_MACHINE
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
)


def test_dialog_warns_of_plain_http_exactly_when_the_shared_rule_says_another_host(
        qtbot, settings_dialog):  # noqa: F811
    d = settings_dialog
    click(qtbot, d.add_button)
    for url in THIS_MACHINE + ANOTHER_HOST:
        retype(qtbot, d.base_url_edit, url)
        assert d.insecure_warning.isVisibleTo(d) == plain_http_to_remote(url) == (url in ANOTHER_HOST), url


def test_dialog_saves_nothing_when_the_keyring_cannot_keep_the_key(
        qtbot, settings_dialog, settings_engine, settings_vendor):  # noqa: F811
    with no_keyring():
        fill_provider(qtbot, settings_dialog, "oa", "openai", settings_vendor.base_url + "/v1", KEY)
        click(qtbot, settings_dialog.save_button)
    assert "Not saved" in settings_dialog.provider_status.text()
    assert settings_engine.providers.configs.all() == []
