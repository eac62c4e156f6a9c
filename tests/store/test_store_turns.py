"""The turns of a conversation in the store (issue 16, migration m014): each later answer
linked to the one it continues with the reply that made it, read back as a chain, kept
with the thinking signature to send back, and carried over by a merge."""

from __future__ import annotations

from pathlib import Path

import pytest

from desk.core.conversation import TurnLink
from desk.core.response import ResponseResult, Status
from desk.core.trial import TrialInput
from desk.store import StoreError, open_store


def _answer(store, trial_id: str, rid: str, text: str, signature: str | None = None) -> ResponseResult:
    r = ResponseResult(id=rid, trial_id=trial_id, model="openai/gpt-4o", settings={}, status=Status.OK, text=text,
                       reasoning_signature=signature)
    store.responses.finish(r)
    return r


def _conversation(store) -> str:
    trial = store.trials.create(TrialInput("Summarise."))
    _answer(store, trial, "r1", "Which one?", "sig-1")
    _answer(store, trial, "r2", "Sales is up.")
    _answer(store, trial, "r3", "By 4%.")
    _answer(store, trial, "other", "Another model's answer.")
    store.turns.add(TurnLink("r2", "r1", 2, "Q3."))
    store.turns.add(TurnLink("r3", "r2", 3, "By how much?"))
    return trial


def test_a_conversation_is_rebuilt_from_its_links(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        trial = _conversation(store)
        assert store.turns.chain("r3") == [TurnLink("r2", "r1", 2, "Q3."), TurnLink("r3", "r2", 3, "By how much?")]
        assert store.turns.chain("r1") == []
        assert [link.response_id for link in store.turns.for_trial(trial)] == ["r2", "r3"]
        assert store.responses.get("r1").reasoning_signature == "sig-1"
        assert store.responses.get("r2").reasoning_signature is None
        # The history names each conversation's model once, not once per turn.
        assert store.trials.list()[0].models == ("openai/gpt-4o", "openai/gpt-4o")


@pytest.mark.parametrize("link", [TurnLink("missing", "r1", 2, "x"), TurnLink("other", "r1", 1, "x"),
                                  TurnLink("r2", "r1", 2, "again")], ids=["no-response", "turn-1", "twice"])
def test_a_bad_link_is_refused(link: TurnLink, tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        _conversation(store)
        with pytest.raises(StoreError, match="was refused"):
            store.turns.add(link)


def test_a_merge_carries_the_conversation(tmp_path: Path) -> None:
    with open_store(tmp_path / "a.db") as a:
        _conversation(a)
    with open_store(tmp_path / "b.db") as b:
        report = b.merge_from(tmp_path / "a.db")
        assert report.added["turns"] == 2
        assert [link.reply for link in b.turns.chain("r3")] == ["Q3.", "By how much?"]
        assert b.responses.get("r1").reasoning_signature == "sig-1"
        assert b.merge_from(tmp_path / "a.db").total == 0


def test_deleting_a_trial_takes_its_conversation_with_it(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        trial = _conversation(store)
        assert store.trials.delete(trial)  # the links would otherwise hold its answers (foreign keys)
        assert store.turns.for_responses(["r2", "r3"]) == {}
