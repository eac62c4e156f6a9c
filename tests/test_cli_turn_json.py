"""`desk trial --json` and `desk show --json` say each answer's place in its conversation
(issue 16): `turn` (1 for the trial's own answer) and `parent_response_id` (the answer the
reply followed), as `desk reply --json` and the exports do."""

from __future__ import annotations

import pytest

from tests.test_cli import Cli, add_all
from tests.vendor_server import Script


@pytest.fixture
def cli(capsys, monkeypatch, srv) -> Cli:
    cli = Cli(capsys, monkeypatch)
    add_all(cli, srv.base_url)
    return cli


def test_trial_json_says_turn_one_with_no_parent(cli: Cli):
    (first,) = cli.jsonl("trial", "-m", "oa/gpt-4o-mini", "-p", "How did sales do?", "--json")
    assert (first["turn"], first["parent_response_id"]) == (1, None)


def test_show_json_numbers_every_turn_and_names_its_parent(cli: Cli, srv):
    srv.enqueue("gpt-4o-mini", Script(text_pieces=["Which quarter?"]), Script(text_pieces=["Q3 grew 4%."]),
                Script(text_pieces=["Units rose 2%."]))
    (first,) = cli.jsonl("trial", "-m", "oa/gpt-4o-mini", "-p", "How did sales do?", "--json")
    (second,) = cli.jsonl("reply", first["response_id"], "--text", "The third.", "--json")
    (third,) = cli.jsonl("reply", second["response_id"], "--text", "And units?", "--json")
    shown = cli.jsonl("show", first["trial_id"], "--json")
    assert [(r["response_id"], r["turn"], r["parent_response_id"]) for r in shown] == [
        (first["response_id"], 1, None), (second["response_id"], 2, first["response_id"]),
        (third["response_id"], 3, second["response_id"])]
    assert [r["text"] for r in shown] == ["Which quarter?", "Q3 grew 4%.", "Units rose 2%."]
