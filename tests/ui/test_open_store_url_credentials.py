"""Opening a store in the window whose provider URL holds an older desk's password: the banner
says where the password went, and the Providers list never shows it."""

from __future__ import annotations

from desk.store.db import open_store


def test_opening_a_store_with_a_password_in_a_url_says_so_and_never_shows_it(window, tmp_path):
    other = tmp_path / "old.db"
    with open_store(other) as store:
        store.db.execute(
            "INSERT INTO providers (id, name, kind, base_url, headers_json, created_at, updated_at) "
            "VALUES ('x', 'corp', 'openai', 'https://ann:hunter2x@llm.example.test/v1', '[]', 0, 0)")
    window.open_store(str(other))
    shown = window.banner.label.text()
    assert "Now working in" in shown and "corp" in shown and "moved to the OS keyring" in shown, shown
    assert "hunter2x" not in shown
    assert [p.base_url for p in window.engine.providers.configs.all()] == ["https://llm.example.test/v1"]
