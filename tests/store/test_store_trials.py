from __future__ import annotations

import hashlib
import re
import time

import pytest

from desk.core.attachment import Attachment, attachment_from_bytes
from desk.core.response import ResponseResult
from desk.core.trial import TrialInput
from desk.store import Store, StoreError

from .conftest import tiny_png

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")

# "é", "€" and a curly quote: cp1252 bytes that are not valid UTF-8.
CSV_CP1252 = "name;price\nCafé;3€\n“Crème”;4,50\n".encode("cp1252")
CSV_LATIN1 = "ville,pays\nSão Paulo,Brésil\n".encode("latin-1")


def _trial() -> TrialInput:
    return TrialInput(
        prompt="Describe the picture and sum the prices.",
        system="Be brief.",
        attachments=(
            attachment_from_bytes("dot.png", tiny_png(2, 3)),
            attachment_from_bytes("prices.csv", CSV_CP1252),
            attachment_from_bytes("cities.csv", CSV_LATIN1),
        ),
    )


def test_trial_round_trip(store: Store) -> None:
    trial = _trial()
    assert trial.attachments[1].encoding == "cp1252"
    trial_id = store.trials.create(trial)
    assert ULID.match(trial_id)

    stored = store.trials.get(trial_id)
    assert stored is not None
    assert stored.id == trial_id
    assert stored.parent_trial_id is None
    assert abs(stored.created_at - time.time()) < 60
    assert stored.input == trial  # every field of every attachment, text included
    for before, after in zip(trial.attachments, stored.input.attachments, strict=True):
        assert after.data == before.data
        assert hashlib.sha256(after.data).hexdigest() == after.sha256 == before.sha256
        assert (after.encoding, after.text) == (before.encoding, before.text)
    image = stored.input.attachments[0]
    assert (image.kind, image.mime, image.width, image.height) == ("image", "image/png", 2, 3)
    assert stored.input.attachments[1].text == "name;price\nCafé;3€\n“Crème”;4,50\n"


def test_data_file_text_follows_the_stored_encoding(store: Store) -> None:
    for codec in ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32"):
        att = attachment_from_bytes("t.csv", "a,b\nà,ü\n".encode(codec))
        trial_id = store.trials.create(TrialInput("x", attachments=(att,)))
        stored = store.trials.get(trial_id)
        assert stored is not None
        assert stored.input.attachments == (att,), codec


def test_blobs_are_deduplicated(store: Store) -> None:
    first = store.trials.create(_trial())
    second = store.trials.create(TrialInput("again", attachments=_trial().attachments[:1]))
    assert store.db.execute("SELECT count(*) FROM blobs").fetchone()[0] == 3
    assert store.db.execute("SELECT count(*) FROM trial_attachments").fetchone()[0] == 4
    stored = store.trials.get(second)
    assert stored is not None and stored.input.attachments[0].data == tiny_png(2, 3)
    # Deleting a trial frees only the blobs nobody else uses.
    assert store.trials.delete(first) is True
    assert store.db.execute("SELECT count(*) FROM blobs").fetchone()[0] == 1
    assert store.trials.get(first) is None
    assert store.trials.delete(first) is False


def test_a_wrong_sha256_is_refused(store: Store) -> None:
    fake = Attachment("data", "x.txt", "text/plain", b"abc", "0" * 64, "utf-8", "abc")
    with pytest.raises(StoreError, match="sha256"):
        store.trials.create(TrialInput("p", attachments=(fake,)))
    assert store.trials.list() == []


def test_run_again_links_and_ids(store: Store) -> None:
    parent = store.trials.create(TrialInput("first"))
    child = store.trials.create(
        TrialInput("first"), trial_id="01ARZ3NDEKTSV4RRFFQ69G5FAV", parent_trial_id=parent
    )
    assert child == "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    stored = store.trials.get(child)
    assert stored is not None and stored.parent_trial_id == parent
    with pytest.raises(StoreError, match="already exists"):
        store.trials.create(TrialInput("dup"), trial_id=child)
    with pytest.raises(StoreError, match="no trial"):
        store.trials.create(TrialInput("orphan"), parent_trial_id="NOPE")
    store.trials.set_note(child, "compare with the first run")
    stored = store.trials.get(child)
    assert stored is not None and stored.note == "compare with the first run"
    assert store.trials.get("missing") is None


def test_list_trials_newest_first_with_responses(store: Store) -> None:
    ids = [store.trials.create(TrialInput(f"prompt number {i}")) for i in range(3)]
    for model in ("openai/gpt-4o", "anthropic/claude-sonnet-4"):
        store.responses.create(ResponseResult(id=f"r-{model}", trial_id=ids[1], model=model, settings={}))
    listed = store.trials.list()
    assert [t.id for t in listed] == ids[::-1]
    middle = listed[1]
    assert middle.n_responses == 2
    assert middle.models == ("openai/gpt-4o", "anthropic/claude-sonnet-4")
    assert middle.prompt_preview == "prompt number 1"
    assert listed[0].n_responses == 0 and listed[0].models == ()
    assert [t.id for t in store.trials.list(limit=1, offset=1)] == [ids[1]]


def test_prompt_preview_is_200_characters(store: Store) -> None:
    store.trials.create(TrialInput("é" * 500))
    assert store.trials.list()[0].prompt_preview == "é" * 200


def test_search(store: Store) -> None:
    a = store.trials.create(TrialInput("Summarise this quarterly report", system="You are an accountant"))
    b = store.trials.create(TrialInput("Translate to French: hello"))
    c = store.trials.create(TrialInput("Résumé of the report, 100% done_ok"))

    def found(text: str) -> list[str]:
        return [t.id for t in store.trials.list(text)]

    assert found("report") == [c, a]
    assert found("summ") == [a]  # prefix
    assert found("accountant") == [a]  # the system prompt counts
    assert found("REPORT quarterly") == [a]  # every word, any case
    assert found("resume") == [c]  # diacritics folded
    assert found("ello") == [b]  # substring: LIKE fallback
    assert found("100%") == [c]
    assert found("done_ok") == [c]
    assert found('"unbalanced NOT OR') == []
    assert found("zebra") == []
    assert [t.id for t in store.trials.list(search="french")] == [b]
    assert len(store.trials.list(search="   ")) == 3
