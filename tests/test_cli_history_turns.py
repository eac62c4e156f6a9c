"""`desk history` says how many turns a conversation took (issue 16), as the window's
History does; a single shot says nothing about turns."""

from __future__ import annotations

import pytest

from tests.test_cli import Cli, add_all
from tests.vendor_server import Script


@pytest.fixture
def cli(capsys, monkeypatch) -> Cli:
    return Cli(capsys, monkeypatch)


def test_history_names_a_conversations_turns(cli: Cli, srv):
    add_all(cli, srv.base_url)
    srv.enqueue("gpt-4o-mini", Script(text_pieces=["Which quarter?"]), Script(text_pieces=["Q3."]),
                Script(text_pieces=["Up."]), Script(text_pieces=["Hi."]))
    (first,) = cli.jsonl("trial", "-m", "oa/gpt-4o-mini", "-p", "How did sales do?", "--json")
    (second,) = cli.jsonl("reply", first["response_id"], "--text", "The third.", "--json")
    cli.jsonl("reply", second["response_id"], "--text", "Overall?", "--json")
    cli.jsonl("trial", "-m", "oa/gpt-4o-mini", "-p", "Say hello", "--json")
    lines = {line.split()[0]: line for line in cli.ok("history").splitlines()}
    assert lines[first["trial_id"]].endswith("How did sales do? · gpt-4o-mini · 3 turns")
    (single,) = (line for tid, line in lines.items() if tid != first["trial_id"])
    assert single.endswith("Say hello · gpt-4o-mini")
