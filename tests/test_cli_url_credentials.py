"""`python -m desk` on a store where an older desk kept a password in a provider's base URL:
the first command moves it to the keyring and says so once; nothing prints the password."""

from __future__ import annotations

import json

from desk.store.db import open_store
from tests.cli_helpers import FILE_KEYRING, KEYRING_FILE_VAR, cli_env, desk


def test_the_first_command_moves_the_password_to_the_keyring_and_says_so_once(tmp_path):
    db = tmp_path / "old.db"
    with open_store(db) as store:
        store.db.execute(
            "INSERT INTO providers (id, name, kind, base_url, headers_json, created_at, updated_at) "
            "VALUES ('x', 'corp', 'openai', 'https://ann:hunter2x@llm.example.test/v1', '[]', 0, 0)")
    keyring_file = tmp_path / "keyring.json"
    env = cli_env(db, PYTHON_KEYRING_BACKEND=FILE_KEYRING, **{KEYRING_FILE_VAR: str(keyring_file)})

    first = desk("provider", "list", env=env)
    assert first.returncode == 0, first
    assert "desk: note: provider corp:" in first.stderr and "moved to the OS keyring" in first.stderr, first
    second = desk("provider", "list", "--json", env=env)
    assert second.returncode == 0 and second.stderr == "", second
    assert json.loads(second.stdout.splitlines()[0])["base_url"] == "https://llm.example.test/v1"
    assert all("hunter2x" not in run.stdout + run.stderr for run in (first, second))
    assert json.loads(keyring_file.read_text()) == {"desk\x1fcorp": "hunter2x"}
