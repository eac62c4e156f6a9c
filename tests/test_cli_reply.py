"""`desk reply` against the loopback vendor (issue 16): one model's conversation continued,
or every model's of a trial at once; `desk show` names each turn and the reply it answers."""

from __future__ import annotations

import json

import pytest

from tests.test_cli import CLAUDE, Cli, add_all
from tests.vendor_server import Script


@pytest.fixture
def cli(capsys, monkeypatch) -> Cli:
    return Cli(capsys, monkeypatch)


@pytest.fixture
def configured(cli, srv):
    add_all(cli, srv.base_url)
    return srv


def _chats(srv) -> list:
    return [rec for rec in srv.requests if rec.method == "POST"]


def test_reply_continues_one_conversation_and_show_names_the_turns(cli: Cli, configured):
    configured.enqueue("gpt-4o-mini", Script(text_pieces=["Which quarter?"]), Script(text_pieces=["Q3 grew 4%."]))
    (first,) = cli.jsonl("trial", "-m", "oa/gpt-4o-mini", "-p", "How did sales do?", "--json")
    (second,) = cli.jsonl("reply", first["response_id"], "--text", "The third.", "--json")
    assert second["text"] == "Q3 grew 4%." and second["status"] == "ok"
    assert (second["turn"], second["parent_response_id"], second["trial_id"]) == (2, first["response_id"], first["trial_id"])
    assert [(m["role"], m["text"]) for m in _chats(configured)[1].messages] == [
        ("user", "How did sales do?"), ("assistant", "Which quarter?"), ("user", "The third.")]
    shown = cli.ok("show", first["trial_id"])
    assert "=== oa/gpt-4o-mini (ok) ===\nWhich quarter?" in shown
    assert "=== oa/gpt-4o-mini, turn 2 (ok) ===\n[reply] The third.\nQ3 grew 4%." in shown


def test_reply_all_continues_every_models_conversation(cli: Cli, configured):
    out = cli.jsonl("trial", "-m", "oa/gpt-4o-mini", "-m", f"an/{CLAUDE}", "-p", "Which region?", "--json")
    replies = cli.jsonl("reply", "--all", out[0]["trial_id"], "--text", "By revenue.", "--json")
    assert [(r["model"], r["turn"]) for r in replies] == [("oa/gpt-4o-mini", 2), (f"an/{CLAUDE}", 2)]
    assert [r["parent_response_id"] for r in replies] == [r["response_id"] for r in out]
    # A second Reply to all continues the latest turns.
    again = cli.jsonl("reply", "--all", out[0]["trial_id"], "--text", "And by units?", "--json")
    assert [r["parent_response_id"] for r in again] == [r["response_id"] for r in replies]
    assert [r["turn"] for r in again] == [3, 3]


def test_reply_errors_are_one_line_and_send_nothing(cli: Cli, configured):
    configured.enqueue("gpt-4o-mini", Script(status=400, error_message="bad"))
    code, out, _ = cli("trial", "-m", "oa/gpt-4o-mini", "-p", "Hi", "--json")
    assert code == 1
    failed_id = json.loads(out)["response_id"]
    sent = len(_chats(configured))
    for argv, why in [
        ((failed_id, "--text", "Go on."), "failed: there is nothing to reply to"),
        (("nope", "--text", "Go on."), "no answer nope"),
        ((failed_id, "--text", "  "), "the reply is empty"),
        (("--all", "nope", "--text", "Go on."), "trial nope has no answer to reply to"),
    ]:
        code, out, err = cli("reply", *argv)
        assert (code, out) == (2, ""), err
        assert why in err and len(err.strip().splitlines()) == 1
    assert len(_chats(configured)) == sent


def _rate(cli: Cli, response_id: str, outcome: str, uncertainty: str) -> None:
    cli.ok("rate", response_id, "--outcome", outcome, "--uncertainty", uncertainty, "--constraints", "na",
           "--quality", "3", "--rater", "ann")


def test_scorecard_clarifying_counts_what_came_of_asking(cli: Cli, configured):
    configured.enqueue("gpt-4o-mini", Script(text_pieces=["Which quarter do you mean?"]), Script(text_pieces=["Q3: up."]))
    configured.enqueue(CLAUDE, Script(text_pieces=["Sales rose."]))
    oa, an = cli.jsonl("trial", "-m", "oa/gpt-4o-mini", "-m", f"an/{CLAUDE}", "-p", "How did sales do?", "--json")
    (oa2,) = cli.jsonl("reply", oa["response_id"], "--text", "Q3.", "--json")
    _rate(cli, oa["response_id"], "success", "asked_clarifying")
    _rate(cli, oa2["response_id"], "success", "confident_correct")
    _rate(cli, an["response_id"], "failure", "confident_wrong")
    scores = {s["model"]: s for s in json.loads(cli.ok("scorecard", "--clarifying", "--json"))}
    assert scores["oa/gpt-4o-mini"]["asked_then_succeeded"]["k"] == 1
    assert scores["oa/gpt-4o-mini"]["asked_then_succeeded"]["n"] == 1
    assert scores["oa/gpt-4o-mini"]["extra_turns"] == 1
    assert (scores[f"an/{CLAUDE}"]["guessed_failed"]["k"], scores[f"an/{CLAUDE}"]["guessed_failed"]["n"]) == (1, 1)
    assert scores[f"an/{CLAUDE}"]["asked_needlessly"] == {"k": 0, "n": 0, "rate": None, "interval": None}
    table = cli.ok("scorecard", "--clarifying")
    assert "asked → succeeded" in table.splitlines()[0]
    assert "oa/gpt-4o-mini" in table and "1/1 100% [21–100%]" in table
