"""A refusal and the content fields desk does not read survive the store (m006)."""

from __future__ import annotations

import time
from pathlib import Path

from desk.core.ids import new_id
from desk.core.response import ResponseResult, Status, UnknownField, note_unknown
from desk.core.trial import TrialInput
from desk.store import Store, open_store
from desk.store.db import connect
from desk.store.migrations import MIGRATIONS, migrate


def _answer(trial_id: str) -> ResponseResult:
    return ResponseResult(id=new_id(), trial_id=trial_id, model="openai/gpt-4o", settings={},
                          status=Status.OK, started_at=time.time())


def test_refusal_and_unknown_fields_round_trip(store: Store) -> None:
    trial_id = store.trials.create(TrialInput("hi"))
    result = _answer(trial_id)
    result.text, result.refusal = "I can't help with that.", True
    note_unknown(result.unknown_fields, "delta.audio", '{"id": "audio_1", "transcript": "é"}')
    note_unknown(result.unknown_fields, "delta.audio", '{"transcript": "x"}')
    store.responses.create(result)
    store.responses.finish(result)

    back = store.responses.get(result.id)
    assert back is not None
    assert back.refusal is True and back.text == "I can't help with that."
    assert back.unknown_fields == {
        "delta.audio": UnknownField(2, ['{"id": "audio_1", "transcript": "é"}', '{"transcript": "x"}'])
    }


def test_a_plain_answer_is_no_refusal_and_has_no_unknown_fields(store: Store) -> None:
    trial_id = store.trials.create(TrialInput("hi"))
    result = _answer(trial_id)
    store.responses.finish(result)
    back = store.responses.get(result.id)
    assert back is not None and back.refusal is False and back.unknown_fields == {}


def test_m006_upgrades_an_m005_store_in_place(db_path: Path) -> None:
    names = [m.__name__ for m in MIGRATIONS]
    before = names.index("m006_response_refusal_and_unknown_fields")
    db = connect(db_path)
    migrate(db, MIGRATIONS[:before])
    assert "refusal" not in db.table("responses").columns_dict
    db.execute("INSERT INTO trials (id, created_at, prompt) VALUES ('t1', 1.0, 'old prompt')")
    db.execute(
        "INSERT INTO responses (id, trial_id, model, provider_name, model_name, status, text, "
        "created_at, updated_at) VALUES ('r1', 't1', 'p/m', 'p', 'm', 'ok', 'old answer', 1.0, 1.0)"
    )
    db.close()
    with open_store(db_path) as store:
        columns = store.db.table("responses").columns_dict
        assert columns["refusal"] is int and columns["unknown_fields_json"] is str
        old = store.responses.get("r1")
        assert old is not None
        assert (old.text, old.refusal, old.unknown_fields) == ("old answer", False, {})


def test_raw_values_are_capped_but_every_one_is_counted() -> None:
    fields: dict[str, UnknownField] = {}
    big = '"' + "x" * 10_000 + '"'
    for _ in range(5):
        note_unknown(fields, "part.inlineData", big)
    assert fields["part.inlineData"].count == 5
    assert len(fields["part.inlineData"].raw) == 1  # 16 KB of raw JSON per answer at most
