from __future__ import annotations

import dataclasses
import sqlite3
import time
from pathlib import Path

import pytest

from desk.core.attachment import attachment_from_bytes
from desk.core.ids import new_id
from desk.core.pricing import Price
from desk.core.provider import ProviderConfig
from desk.core.response import Attempt, ErrorKind, ResponseResult, Status, Usage
from desk.core.trial import TrialInput
from desk.store import Store, StoreError, open_store
from desk.store.db import connect
from desk.store.merge import MERGED_TABLES
from desk.store.migrations import MIGRATIONS, migrate
from tests.store.conftest import tiny_png

GOOD = {"outcome": "success", "uncertainty": "asked_clarifying", "constraints": "followed", "quality": 4}
BAD = {"outcome": "failure", "uncertainty": "confident_wrong", "constraints": "violated", "quality": 1}

# Tables whose rows must end up identical in both stores; blobs too, but for when each
# store first saw those bytes.
CONVERGING = tuple(t for t in MERGED_TABLES if t != "blobs")


def _png_trial(store: Store, prompt: str) -> str:
    png = attachment_from_bytes("chart.png", tiny_png())
    return store.create_trial(TrialInput(prompt, system="be brief", attachments=(png,)))


def _answer(store: Store, trial_id: str, model: str, *, retried: bool = False) -> ResponseResult:
    t0 = time.time()
    attempts = [Attempt(number=1, started_at=t0, status=Status.OK, usage=Usage(3, 4), cost_usd=0.002)]
    if retried:
        failed = Attempt(
            number=1, started_at=t0, status=Status.ERROR, error_kind=ErrorKind.RATE_LIMITED, http_status=429
        )
        attempts = [failed, dataclasses.replace(attempts[0], number=2)]
    result = ResponseResult(
        id=new_id(),
        trial_id=trial_id,
        model=model,
        settings={"temperature": 0.2},
        status=Status.OK,
        text=f"answer from {model}",
        started_at=t0,
        usage=Usage(3, 4),
        cost_usd=0.002,
        retries=len(attempts) - 1,
        attempts=attempts,
    )
    store.finish_response(result)
    return result


def _table(store: Store, table: str, *leave_out: str) -> set[tuple[object, ...]]:
    columns = [c for c in store.db.table(table).columns_dict if c not in leave_out]
    return set(store.db.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall())


def _store_id(store: Store) -> str:
    return store.db.execute("SELECT id FROM store_identity").fetchone()[0]


def _store_a(path: Path) -> tuple[Store, str, list[ResponseResult]]:
    a = open_store(path)
    a.add_provider(ProviderConfig("alpha", "openai", "https://alpha.example/v1", key_env="ALPHA_KEY"))
    a.add_provider(ProviderConfig("shared", "openai", "https://one.example/v1"))
    a.add_model("alpha", "big")
    a.set_price("shared", "m", Price(1.0, 2.0))
    a.set_setting("rater_name", "ana")
    shared = _png_trial(a, "the shared task")
    answers = [_answer(a, shared, "alpha/big", retried=True), _answer(a, shared, "shared/m")]
    a.save_rating(answers[0].id, "ana", GOOD, blind=True, shown_order=[r.id for r in answers])
    a.save_rating(answers[0].id, "ana", {**GOOD, "quality": 5, "tags": ["edited"]})
    a.save_rating(answers[1].id, "ana", BAD)
    a.save_preference(answers[0].id, answers[1].id, "a", "ana", reason="it asked first")
    a.set_trial_note(shared, "from ana")
    return a, shared, answers


def _store_b(path: Path) -> Store:
    b = open_store(path)
    b.add_provider(ProviderConfig("beta", "anthropic", "https://beta.example"))
    b.add_provider(ProviderConfig("shared", "openai", "https://two.example/v1"))  # differs from A's
    b.set_price("shared", "m", Price(9.0, 9.0))  # differs from A's
    b.set_setting("rater_name", "bob")
    own = _png_trial(b, "bob's own task")  # the same picture: one blob after merging
    answer = _answer(b, own, "beta/claude")
    b.save_rating(answer.id, "bob", GOOD)
    return b


def test_two_raters_merge_both_ways(tmp_path: Path) -> None:
    a, shared, answers = _store_a(tmp_path / "a.db")
    b = _store_b(tmp_path / "b.db")
    try:
        report = b.merge_from(a.path)
        assert report.added == {
            "blobs": 0,  # B already had the picture
            "trials": 1,
            "trial_attachments": 1,
            "responses": 2,
            "attempts": 3,
            "rubrics": 0,  # the default rubric has the same id in every store
            "ratings": 3,
            "preferences": 1,
            "runs": 0,
            "run_requests": 0,
            "suites": 0,
            "suite_cases": 0,
            "suite_case_attachments": 0,
            "suite_run_trials": 0,
        }
        # Providers, models and prices are configuration: listed, never added.
        assert report.conflicts == []
        assert report.not_added == [
            "provider alpha (openai, https://alpha.example/v1, key from $ALPHA_KEY): not added; "
            "add it by hand if you trust it",
            "provider shared: set up differently in the other store; this store's kept",
            "1 model(s) not added to the picker: alpha/big",
            "1 price override(s) not added: shared/m",
        ]
        assert [p.name for p in b.list_providers()] == ["beta", "shared"] and b.list_models("alpha") == []
        assert b.get_provider("shared").base_url == "https://two.example/v1"  # type: ignore[union-attr]
        assert b.get_price("shared", "m") == Price(9.0, 9.0)

        # B's rater rates the shared trial too, then B is merged back into A.
        assert b.get_trial(shared).note == "from ana"  # type: ignore[union-attr]
        merged = b.responses_for_trial(shared)
        assert merged == answers
        b.save_rating(answers[0].id, "bob", BAD, blind=True, shown_order=[answers[1].id, answers[0].id])
        b.save_preference(answers[1].id, answers[0].id, "b", "bob")
        report = a.merge_from(b.path)
        assert report.added["ratings"] == 2 and report.added["preferences"] == 1
        assert report.added["trials"] == 1 and report.added["blobs"] == 0

        by_rater = {(r.response_id, r.rater): r for r in a.ratings_for_trial(shared)}
        assert set(by_rater) == {(answers[0].id, "ana"), (answers[1].id, "ana"), (answers[0].id, "bob")}
        assert by_rater[answers[0].id, "ana"].values == {**GOOD, "quality": 5, "tags": ["edited"]}
        assert by_rater[answers[0].id, "bob"].shown_order == (answers[1].id, answers[0].id)
        assert len(a.rating_history(answers[0].id, "ana")) == 2
        assert {p.rater for p in a.current_preferences()} == {"ana", "bob"}
        assert a.responses_for_trial(shared)[0].attempts == answers[0].attempts

        # Both stores now hold the same rows (ratings and preferences but for the store
        # each came from); a picture used by two trials is stored once.
        for table in CONVERGING:
            assert _table(a, table, "origin") == _table(b, table, "origin"), table
        assert {r.origin for r in a.current_ratings(rater="bob")} == {_store_id(b)}
        assert {r.origin for r in b.current_ratings(rater="ana")} == {_store_id(a)}
        assert {r.origin for r in a.current_ratings(rater="ana")} == {None}
        assert [p.name for p in a.list_providers()] == ["alpha", "shared"]
        assert [p.name for p in b.list_providers()] == ["beta", "shared"]
        blobs = "SELECT sha256, data, size, mime FROM blobs"
        assert a.db.execute(blobs).fetchall() == b.db.execute(blobs).fetchall()
        assert _count(a, "blobs") == 1 and _count(a, "trial_attachments") == 2
        assert _count(a, "ratings") == 5
        # No duplicates, and merging again (either way) adds nothing.
        assert a.merge_from(b.path).total == 0
        assert b.merge_from(a.path).total == 0
        assert _count(a, "ratings") == 5
        # Settings are each user's own: never copied.
        assert a.get_setting("rater_name") == "ana" and b.get_setting("rater_name") == "bob"
        # Searching still finds merged trials (the full-text index is kept by triggers).
        assert [t.id for t in a.search_trials("own task")] == [t.id for t in b.search_trials("own task")]
        assert len(a.search_trials("own task")) == 1
    finally:
        a.close()
        b.close()


def _count(store: Store, table: str) -> int:
    return store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_no_secret_can_travel(tmp_path: Path) -> None:
    a, _, _ = _store_a(tmp_path / "a.db")
    with open_store(tmp_path / "b.db") as b:
        b.merge_from(a.path)
        a.close()
        assert not {"settings", "_desk_migrations", "providers", "store_identity"} & set(MERGED_TABLES)
        for table in MERGED_TABLES:
            for column in b.db.table(table).columns_dict:
                lowered = column.lower()
                assert not any(word in lowered for word in ("secret", "password", "token_value", "api_key"))
                assert "key" not in lowered or column == "key_env", (table, column)
        assert _count(b, "settings") == 0
        assert b.get_provider("alpha") is None and _count(b, "providers") == 0


def test_rubric_versions_made_apart(tmp_path: Path) -> None:
    with open_store(tmp_path / "a.db") as a, open_store(tmp_path / "b.db") as b:
        trial = a.create_trial(TrialInput("task"))
        answer = _answer(a, trial, "p/m")
        b.merge_from(a.path)

        def relabel(store: Store, label: str) -> str:
            rubric = store.default_rubric()
            criteria = tuple(
                dataclasses.replace(c, label=label) if c.key == "outcome" else c for c in rubric.criteria
            )
            saved = store.save_rubric_version(dataclasses.replace(rubric, criteria=criteria))
            assert saved.version == 2
            return saved.id or ""

        # Both make the same v2 (identical criteria): B's is mapped onto A's.
        same_a, same_b = relabel(a, "Worked?"), relabel(b, "Worked?")
        b.save_rating(answer.id, "bob", GOOD)
        report = a.merge_from(b.path)
        assert report.added["rubrics"] == 0 and report.added["ratings"] == 1 and report.conflicts == []
        assert a.current_ratings(rater="bob")[0].rubric_id == same_a != same_b

        # Each then makes a different v3: theirs is kept as v4, its ratings still point to it.
        relabel_a = relabel_b = None
        for store, label in ((a, "Success?"), (b, "Usable?")):
            rubric = store.default_rubric()
            criteria = tuple(
                dataclasses.replace(c, label=label) if c.key == "outcome" else c for c in rubric.criteria
            )
            saved = store.save_rubric_version(dataclasses.replace(rubric, criteria=criteria))
            assert saved.version == 3
            if store is a:
                relabel_a = saved
            else:
                relabel_b = saved
        assert relabel_a is not None and relabel_b is not None
        b.save_rating(answer.id, "bob", BAD)
        report = a.merge_from(b.path)
        assert report.added["rubrics"] == 1 and report.added["ratings"] == 1
        assert report.conflicts == [
            "rubric 'default' version 3 of the other store differs from this store's; stored as version 4"
        ]
        stored = a.get_rubric(relabel_b.id or "")
        assert stored is not None and stored.version == 4
        assert stored.criterion("outcome").label == "Usable?"
        assert a.current_ratings(rater="bob")[0].rubric_id == relabel_b.id
        assert a.default_rubric().version == 4
        assert a.merge_from(b.path).total == 0


def test_an_older_store_is_upgraded_before_merging(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    db = connect(old)
    migrate(db, MIGRATIONS[:2])
    db.execute("INSERT INTO trials (id, created_at, prompt) VALUES ('t1', 1.0, 'an old prompt')")
    db.close()
    with open_store(tmp_path / "new.db") as store:
        report = store.merge_from(old)
        assert report.added["trials"] == 1 and report.total == 1
        assert store.get_trial("t1").input.prompt == "an old prompt"  # type: ignore[union-attr]


def test_only_desk_stores_can_be_merged(tmp_path: Path, store: Store) -> None:
    text = tmp_path / "notes.txt"
    text.write_bytes(b"not a database at all\n" * 100)
    with pytest.raises(StoreError, match="not a desk database"):
        store.merge_from(text)
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE bookmarks (url TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a desk database"):
        store.merge_from(other)
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(StoreError, match="not a desk database"):
        store.merge_from(empty)
    assert empty.stat().st_size == 0  # left untouched
    with pytest.raises(StoreError, match="no such file"):
        store.merge_from(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()
    with pytest.raises(StoreError, match="is this store"):
        store.merge_from(store.path)

    newer = tmp_path / "newer.db"
    open_store(newer).close()
    conn = sqlite3.connect(newer)
    conn.execute("INSERT INTO _desk_migrations VALUES ('m999_future', 1.0)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer desk"):
        store.merge_from(newer)


def test_a_failed_merge_adds_nothing(tmp_path: Path) -> None:
    a, _, _ = _store_a(tmp_path / "a.db")
    a.db.execute("UPDATE blobs SET data = ?", (b"tampered",))
    a.close()
    with open_store(tmp_path / "b.db") as b:
        with pytest.raises(StoreError, match="damaged attachment"):
            b.merge_from(tmp_path / "a.db")
        assert all(_count(b, table) == 0 for table in MERGED_TABLES)
        assert not b.db.conn.in_transaction
        b.add_provider(ProviderConfig("after", "openai", "https://after.example"))  # still usable


def test_a_store_with_broken_links_is_refused(tmp_path: Path) -> None:
    with open_store(tmp_path / "a.db") as a:
        trial = a.create_trial(TrialInput("task"))
        answer = _answer(a, trial, "p/m")
        a.db.execute("PRAGMA foreign_keys = OFF")
        a.db.execute(
            "INSERT INTO ratings (id, response_id, rater, rubric_id, created_at) VALUES (?, ?, ?, ?, ?)",
            (new_id(), answer.id, "ana", "no-such-rubric", 1.0),
        )
    with open_store(tmp_path / "b.db") as b:
        with pytest.raises(
            StoreError, match="inconsistent: a row of ratings refers to a missing row of rubrics"
        ):
            b.merge_from(tmp_path / "a.db")
        assert all(_count(b, table) == 0 for table in MERGED_TABLES)
        assert not b.db.conn.in_transaction
