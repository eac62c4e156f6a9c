"""From the command line: a base URL with a password is refused (and an old store's is not
shown), and an answer repeating your key is printed, stored and shown redacted with a note."""

from __future__ import annotations

import sqlite3

from tests.cli_helpers import cli_env, desk, one_line_error
from tests.vendor_server import Script

KEY = "sk-test-CLIECHO-0123456789abcdef"
PASSWORD = "pa55word-CLI-SECRET-42"


def all_bytes(db) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def test_provider_add_refuses_a_password_in_the_base_url(tmp_path):
    db = tmp_path / "desk.db"
    r = desk("provider", "add", "p", "--kind", "openai", "--base-url", f"http://user:{PASSWORD}@127.0.0.1:9/v1", db=db)
    assert r.returncode == 2, r
    line = one_line_error(r.stderr)
    assert "must not carry a user name or password" in line and "desk provider set-key" in line
    assert PASSWORD not in r.stderr + r.stdout
    listed = desk("provider", "list", "--json", db=db)
    assert listed.returncode == 0 and listed.stdout == ""
    assert PASSWORD.encode() not in all_bytes(db)


def test_provider_list_hides_a_password_an_older_desk_stored(tmp_path):
    db = tmp_path / "desk.db"
    assert desk("provider", "add", "p", "--kind", "openai", "--base-url", "http://127.0.0.1:9/v1", db=db).returncode == 0
    with sqlite3.connect(db) as conn:  # as stored before the rule existed
        conn.execute("UPDATE providers SET base_url = ?", (f"http://user:{PASSWORD}@127.0.0.1:9/v1",))
    for args in (("provider", "list"), ("provider", "list", "--json")):
        r = desk(*args, db=db)
        # The first opening takes it out of the store (tests/test_cli_url_credentials.py), saying so once.
        assert r.returncode == 0 and PASSWORD not in r.stdout + r.stderr and "http://127.0.0.1:9/v1" in r.stdout, r


def test_trial_stores_and_shows_an_echoed_key_redacted_with_a_note(srv, tmp_path):
    db = tmp_path / "desk.db"
    env = cli_env(db, DESK_TEST_ECHO_KEY=KEY)
    srv.api_key = KEY
    srv.enqueue("gpt-4o-mini", Script(text_pieces=["Here: ", KEY[:12], KEY[12:], "."]))
    add = desk("provider", "add", "oa", "--kind", "openai", "--base-url", srv.base_url + "/v1",
               "--key-env", "DESK_TEST_ECHO_KEY", env=env)
    assert add.returncode == 0, add
    r = desk("trial", "-m", "oa/gpt-4o-mini", "--prompt", "what is my key?", "--json", env=env)
    assert r.returncode == 0, r
    (line,) = r.json_lines()
    assert line["text"] == "Here: [REDACTED]."
    assert line["notes"] == ["the answer contained the API key of provider 'oa' verbatim; desk stored it "
                             "as [REDACTED] (if the model could see that key, replace it with the vendor)"]
    shown = desk("show", line["trial_id"], env=env)
    assert "[note] the answer contained the API key of provider 'oa' verbatim" in shown.stdout
    for out in (r, shown):
        assert KEY not in out.stdout + out.stderr
    assert KEY.encode() not in all_bytes(db)
