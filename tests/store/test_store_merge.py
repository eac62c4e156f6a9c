from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from desk.core.attachment import attachment_from_bytes
from desk.core.ids import new_id
from desk.core.pricing import Price
from desk.core.provider import ProviderConfig
from desk.core.response import Attempt, ErrorKind, ResponseResult, Status, Usage
from desk.core.trial import TrialInput
from desk.store import Store, StoreError, merge, merge_batches, open_store
from desk.store.db import connect
from desk.store.merge import MERGED_TABLES
from desk.store.migrations import MIGRATIONS, migrate
from desk.store.sql import transaction
from tests.cli_helpers import cli_env, desk
from tests.store.conftest import tiny_png

GOOD = {"outcome": "success", "uncertainty": "asked_clarifying", "constraints": "followed", "quality": 4}
BAD = {"outcome": "failure", "uncertainty": "confident_wrong", "constraints": "violated", "quality": 1}

# Tables whose rows must end up identical in both stores; blobs too, but for when each
# store first saw those bytes.
CONVERGING = tuple(t for t in MERGED_TABLES if t != "blobs")


def _png_trial(store: Store, prompt: str) -> str:
    png = attachment_from_bytes("chart.png", tiny_png())
    return store.trials.create(TrialInput(prompt, system="be brief", attachments=(png,)))


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
    store.responses.finish(result)
    return result


def _table(store: Store, table: str, *leave_out: str) -> set[tuple[object, ...]]:
    columns = [c for c in store.db.table(table).columns_dict if c not in leave_out]
    return set(store.db.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall())


def _store_id(store: Store) -> str:
    return store.db.execute("SELECT id FROM store_identity").fetchone()[0]


def _store_a(path: Path) -> tuple[Store, str, list[ResponseResult]]:
    a = open_store(path)
    a.providers.add(ProviderConfig("alpha", "openai", "https://alpha.example/v1", key_env="ALPHA_KEY"))
    a.providers.add(ProviderConfig("shared", "openai", "https://one.example/v1"))
    a.providers.add_model("alpha", "big")
    a.prices.set("shared", "m", Price(1.0, 2.0))
    a.settings.set("rater_name", "ana")
    shared = _png_trial(a, "the shared task")
    answers = [_answer(a, shared, "alpha/big", retried=True), _answer(a, shared, "shared/m")]
    a.ratings.save(answers[0].id, "ana", GOOD, blind=True, shown_order=[r.id for r in answers])
    a.ratings.save(answers[0].id, "ana", {**GOOD, "quality": 5, "tags": ["edited"]})
    a.ratings.save(answers[1].id, "ana", BAD)
    a.ratings.save_preference(answers[0].id, answers[1].id, "a", "ana", reason="it asked first")
    a.trials.set_note(shared, "from ana")
    return a, shared, answers


def _store_b(path: Path) -> Store:
    b = open_store(path)
    b.providers.add(ProviderConfig("beta", "anthropic", "https://beta.example"))
    b.providers.add(ProviderConfig("shared", "openai", "https://two.example/v1"))  # differs from A's
    b.prices.set("shared", "m", Price(9.0, 9.0))  # differs from A's
    b.settings.set("rater_name", "bob")
    own = _png_trial(b, "bob's own task")  # the same picture: one blob after merging
    answer = _answer(b, own, "beta/claude")
    b.ratings.save(answer.id, "bob", GOOD)
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
            "turns": 0,
            "rubrics": 0,  # the default rubric has the same id in every store
            "ratings": 3,
            "preferences": 1,
            "runs": 0,
            "run_requests": 0,
            "suites": 0,
            "suite_cases": 0,
            "suite_case_attachments": 0,
            "suite_run_trials": 0,
            "judge_prompts": 0,
            "judge_verdicts": 0,
            "calibration_draws": 0,
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
        assert [p.name for p in b.providers.all()] == ["beta", "shared"] and b.providers.models("alpha") == []
        assert b.providers.get("shared").base_url == "https://two.example/v1"  # type: ignore[union-attr]
        assert b.prices.get("shared", "m") == Price(9.0, 9.0)

        # B's rater rates the shared trial too, then B is merged back into A.
        assert b.trials.get(shared).note == "from ana"  # type: ignore[union-attr]
        merged = b.responses.for_trial(shared)
        assert merged == answers
        b.ratings.save(answers[0].id, "bob", BAD, blind=True, shown_order=[answers[1].id, answers[0].id])
        b.ratings.save_preference(answers[1].id, answers[0].id, "b", "bob")
        report = a.merge_from(b.path)
        assert report.added["ratings"] == 2 and report.added["preferences"] == 1
        assert report.added["trials"] == 1 and report.added["blobs"] == 0

        by_rater = {(r.response_id, r.rater): r for r in a.ratings.for_trial(shared)}
        assert set(by_rater) == {(answers[0].id, "ana"), (answers[1].id, "ana"), (answers[0].id, "bob")}
        assert by_rater[answers[0].id, "ana"].values == {**GOOD, "quality": 5, "tags": ["edited"]}
        assert by_rater[answers[0].id, "bob"].shown_order == (answers[1].id, answers[0].id)
        assert len(a.ratings.history(answers[0].id, "ana")) == 2
        assert {p.rater for p in a.ratings.current_preferences()} == {"ana", "bob"}
        assert a.responses.for_trial(shared)[0].attempts == answers[0].attempts

        # Both stores now hold the same rows (ratings and preferences but for the store
        # each came from); a picture used by two trials is stored once.
        for table in CONVERGING:
            assert _table(a, table, "origin") == _table(b, table, "origin"), table
        assert {r.origin for r in a.ratings.current(rater="bob")} == {_store_id(b)}
        assert {r.origin for r in b.ratings.current(rater="ana")} == {_store_id(a)}
        assert {r.origin for r in a.ratings.current(rater="ana")} == {None}
        assert [p.name for p in a.providers.all()] == ["alpha", "shared"]
        assert [p.name for p in b.providers.all()] == ["beta", "shared"]
        blobs = "SELECT sha256, data, size, mime FROM blobs"
        assert a.db.execute(blobs).fetchall() == b.db.execute(blobs).fetchall()
        assert _count(a, "blobs") == 1 and _count(a, "trial_attachments") == 2
        assert _count(a, "ratings") == 5
        # No duplicates, and merging again (either way) adds nothing.
        assert a.merge_from(b.path).total == 0
        assert b.merge_from(a.path).total == 0
        assert _count(a, "ratings") == 5
        # Settings are each user's own: never copied.
        assert a.settings.get("rater_name") == "ana" and b.settings.get("rater_name") == "bob"
        # Searching still finds merged trials (the full-text index is kept by triggers).
        assert [t.id for t in a.trials.list("own task")] == [t.id for t in b.trials.list("own task")]
        assert len(a.trials.list("own task")) == 1
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
        assert b.providers.get("alpha") is None and _count(b, "providers") == 0


def test_rubric_versions_made_apart(tmp_path: Path) -> None:
    with open_store(tmp_path / "a.db") as a, open_store(tmp_path / "b.db") as b:
        trial = a.trials.create(TrialInput("task"))
        answer = _answer(a, trial, "p/m")
        b.merge_from(a.path)

        def relabel(store: Store, label: str) -> str:
            rubric = store.rubrics.default()
            criteria = tuple(
                dataclasses.replace(c, label=label) if c.key == "outcome" else c for c in rubric.criteria
            )
            saved = store.rubrics.save_version(dataclasses.replace(rubric, criteria=criteria))
            assert saved.version == 2
            return saved.id or ""

        # Both make the same v2 (identical criteria): B's is mapped onto A's.
        same_a, same_b = relabel(a, "Worked?"), relabel(b, "Worked?")
        b.ratings.save(answer.id, "bob", GOOD)
        report = a.merge_from(b.path)
        assert report.added["rubrics"] == 0 and report.added["ratings"] == 1 and report.conflicts == []
        assert a.ratings.current(rater="bob")[0].rubric_id == same_a != same_b

        # Each then makes a different v3: theirs is kept as v4, its ratings still point to it.
        relabel_a = relabel_b = None
        for store, label in ((a, "Success?"), (b, "Usable?")):
            rubric = store.rubrics.default()
            criteria = tuple(
                dataclasses.replace(c, label=label) if c.key == "outcome" else c for c in rubric.criteria
            )
            saved = store.rubrics.save_version(dataclasses.replace(rubric, criteria=criteria))
            assert saved.version == 3
            if store is a:
                relabel_a = saved
            else:
                relabel_b = saved
        assert relabel_a is not None and relabel_b is not None
        b.ratings.save(answer.id, "bob", BAD)
        report = a.merge_from(b.path)
        assert report.added["rubrics"] == 1 and report.added["ratings"] == 1
        assert report.conflicts == [
            "rubric 'default' version 3 of the other store differs from this store's; stored as version 4"
        ]
        stored = a.rubrics.get(relabel_b.id or "")
        assert stored is not None and stored.version == 4
        assert stored.criterion("outcome").label == "Usable?"
        assert a.ratings.current(rater="bob")[0].rubric_id == relabel_b.id
        assert a.rubrics.default().version == 4
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
        assert store.trials.get("t1").input.prompt == "an old prompt"  # type: ignore[union-attr]


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
        b.providers.add(ProviderConfig("after", "openai", "https://after.example"))  # still usable


def test_a_store_with_broken_links_is_refused(tmp_path: Path) -> None:
    with open_store(tmp_path / "a.db") as a:
        trial = a.trials.create(TrialInput("task"))
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


# --- a store from a colleague is data, never configuration ------------------------------------

PLANTED = "sk-planted-0123456789abcdef-never-send-me"


def test_a_merged_provider_never_receives_a_request_nor_the_key(tmp_path: Path, srv) -> None:
    """The sender's provider points at their server (here a loopback one) and takes its key
    from OPENAI_API_KEY-like variable the user has set: after the merge the answers are
    there, but no trial can reach that server, and it never sees the key."""
    colleague = tmp_path / "colleague.db"
    with open_store(colleague) as theirs:
        theirs.providers.add(ProviderConfig("trap", "openai", f"{srv.base_url}/v1", key_env="DESK_PLANTED_KEY",
                                           headers=(("X-Team", "theirs"),)))
        theirs.providers.add_model("trap", "gpt")
        theirs.prices.set("trap", "gpt", Price(1.0, 2.0))
        trial = theirs.trials.create(TrialInput("their question"))
        answer = _answer(theirs, trial, "trap/gpt")
    mine = tmp_path / "mine.db"
    env = cli_env(mine, DESK_PLANTED_KEY=PLANTED)
    merged = desk("merge", str(colleague), "--json", env=env)
    assert merged.returncode == 0, merged
    report = json.loads(merged.stdout)
    assert report["added"]["responses"] == 1 and report["total"] == 3  # the trial, its answer, its attempt
    assert "providers" not in report["added"] and "models" not in report["added"]
    assert report["not_added"] == [
        f"provider trap (openai, {srv.base_url}/v1, key from $DESK_PLANTED_KEY, 1 header(s)): not added; "
        "add it by hand if you trust it",
        "1 model(s) not added to the picker: trap/gpt",
        "1 price override(s) not added: trap/gpt",
    ]
    with open_store(mine) as store:
        assert store.providers.all() == [] and store.providers.models() == [] and store.prices.all() == []
        (kept,) = store.responses.for_trial(trial)
        assert kept.id == answer.id and kept.model == "trap/gpt" and kept.text == "answer from trap/gpt"
    # Neither a new trial nor "run again" of the merged one reaches the sender's server.
    sent = desk("trial", "-m", "trap/gpt", "-p", "hello", "--max-retries", "0", env=env)
    assert sent.returncode != 0 and "unknown provider 'trap'" in sent.stderr, sent
    assert srv.requests == []
    assert PLANTED not in merged.stdout + merged.stderr + sent.stdout + sent.stderr
    assert PLANTED.encode() not in mine.read_bytes()


def test_a_merged_rater_never_replaces_ours(tmp_path: Path) -> None:
    """The other store holds ratings by "ana" (this store's rater) made later, one of them
    claiming to supersede ana's own: ana's ratings stay current, the merged ones are kept
    as the other store's, and the report names the clash."""
    with open_store(tmp_path / "mine.db") as mine:
        trial = mine.trials.create(TrialInput("task"))
        first, second = _answer(mine, trial, "p/a"), _answer(mine, trial, "p/b")
        ours = mine.ratings.save(first.id, "ana", GOOD)
        mine.ratings.save_preference(first.id, second.id, "a", "ana")
    with open_store(tmp_path / "theirs.db") as theirs:
        theirs.merge_from(tmp_path / "mine.db")
        forged = theirs.ratings.save(first.id, "ana", BAD)  # their own "ana", on what ours rated
        theirs.ratings.save(second.id, "ana", BAD)  # where our ana said nothing
        theirs.ratings.save_preference(second.id, first.id, "a", "ana")
        theirs.ratings.save(second.id, "bob", GOOD)
        # A hand-made row, newer still, that names ours as the one it replaces.
        hand_made = new_id()
        theirs.db.execute(
            "INSERT INTO ratings (id, response_id, rater, rubric_id, created_at, outcome, uncertainty, "
            "constraints, quality, supersedes) VALUES (?, ?, 'ana', ?, ?, ?, ?, ?, ?, ?)",
            (hand_made, first.id, ours.rubric_id, time.time() + 60, *BAD.values(), ours.id),
        )
        their_id = _store_id(theirs)
    with open_store(tmp_path / "mine.db") as mine:
        report = mine.merge_from(tmp_path / "theirs.db")
        assert report.added["ratings"] == 4 and report.added["preferences"] == 1
        assert report.conflicts == [
            f"2 rating(s) by 'ana' from {tmp_path / 'theirs.db'} judge what 'ana' of this store also judged: "
            "added as the other store's; this store's 'ana' stays current",
            f"1 preference(s) by 'ana' from {tmp_path / 'theirs.db'} judge what 'ana' of this store also "
            "judged: added as the other store's; this store's 'ana' stays current",
        ]
        current = {(r.response_id, r.rater): r for r in mine.ratings.current()}
        assert current[first.id, "ana"] == ours  # made here: still current, origin None
        # Where our ana never rated, the merged "ana" counts, marked as the other store's.
        assert current[second.id, "ana"].values == BAD and current[second.id, "ana"].origin == their_id
        assert current[second.id, "bob"].origin == their_id
        assert len(current) == 3  # one per answer and rater name: the scorecard counts each once
        (pref,) = [p for p in mine.ratings.current_preferences() if p.rater == "ana"]
        assert pref.origin is None and pref.winner == "a" and pref.response_a == first.id
        # Editing here supersedes our own row, never a merged one.
        again = mine.ratings.save(first.id, "ana", {**GOOD, "quality": 5})
        assert again.supersedes == ours.id
        assert forged.id in {r.id for r in mine.ratings.history(first.id, "ana")}
        # Merged rows keep their origin both ways: ours come back to us unchanged.
        assert mine.merge_from(tmp_path / "theirs.db").total == 0
    with open_store(tmp_path / "theirs.db") as theirs:
        theirs.merge_from(tmp_path / "mine.db")
        assert {r.origin for r in theirs.ratings.current(rater="bob")} == {None}
        assert theirs.ratings.current([first.id], rater="ana")[0].id == hand_made  # theirs, there


def test_the_origin_migration_keeps_old_ratings_as_ours(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = connect(path)
    names = [m.__name__ for m in MIGRATIONS]
    migrate(db, MIGRATIONS[: names.index("m007_merged_origin")])
    db.execute("INSERT INTO trials (id, created_at, prompt) VALUES ('t', 1.0, 'p')")
    db.execute("INSERT INTO responses (id, trial_id, model, provider_name, model_name, status, created_at, "
               "updated_at) VALUES ('r', 't', 'p/m', 'p', 'm', 'ok', 1.0, 1.0)")
    db.close()
    with open_store(path) as store, open_store(tmp_path / "other.db") as other:
        rating = store.ratings.save("r", "ana", GOOD)
        assert store.ratings.current() == [rating] and rating.origin is None
        assert len(_store_id(store)) == 32 and _store_id(store) != _store_id(other)
    assert connect(path).execute("SELECT count(*) FROM store_identity").fetchone()[0] == 1


# --- hostile files --------------------------------------------------------------------------


# Every column of attempts, so the view passes for the table to a reader that only looks at columns.
ATTEMPT_COLUMNS = [
    "id", "response_id", "number", "started_at", "first_token_at", "ended_at", "http_status", "status",
    "error_kind", "error_message", "connect_ms", "ttft_ms", "total_ms", "retry_after_s", "wait_before_ms",
    "vendor_request_id", "ratelimit_json", "input_tokens", "output_tokens", "cached_input_tokens",
    "reasoning_tokens", "cost_usd",
]


def _tampered(tmp_path: Path, *statements: str, name: str = "hostile.db") -> Path:
    path = tmp_path / name
    with open_store(path) as s:
        trial = s.trials.create(TrialInput("a real trial"))
        _answer(s, trial, "p/m")
    raw = sqlite3.connect(path)
    for statement in statements:
        raw.execute(statement)
    raw.commit()
    raw.close()
    return path


@pytest.mark.parametrize(
    ("statements", "reason"),
    [
        (  # an endless attempts "table" with every column: merge used to fill the disk with it
            ["DROP TABLE attempts",
             "CREATE VIEW attempts AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
             f"SELECT {', '.join(f'i AS {c}' for c in ATTEMPT_COLUMNS)} FROM n"],
            "holds a view named 'attempts', which desk never makes",
        ),
        (["CREATE TRIGGER steal AFTER INSERT ON trials BEGIN DELETE FROM trials; END"],
         "holds a trigger named 'steal', which desk never makes"),
        (["CREATE VIEW innocent AS SELECT 1"], "holds a view named 'innocent'"),
        (["DROP TRIGGER trials_fts_ai",
          "CREATE TRIGGER trials_fts_ai AFTER INSERT ON trials BEGIN DELETE FROM trials; END"],
         "its trigger 'trials_fts_ai' differs from desk's layout"),
        (["INSERT INTO _desk_migrations VALUES ('m099_future', 1.0)"], "written by a newer desk (m099_future)"),
        (["ALTER TABLE trials ADD COLUMN payload TEXT"], "its table 'trials' differs from desk's layout"),
        (["DROP INDEX idx_trials_created_at"], "lacks desk's 'idx_trials_created_at'"),
    ],
    ids=["recursive-view", "trigger", "extra-view", "desk-named-trigger", "future-version", "altered-table",
         "missing-index"],
)
def test_a_hostile_structure_refuses_the_merge(tmp_path: Path, statements: list[str], reason: str) -> None:
    with open_store(tmp_path / "fresh.db") as fresh:
        assert list(fresh.db.table("attempts").columns_dict) == ATTEMPT_COLUMNS
    path = _tampered(tmp_path, *statements)
    before = path.read_bytes()
    with open_store(tmp_path / "mine.db") as mine:
        with pytest.raises(StoreError, match=re.escape(reason)):
            mine.merge_from(path)
        assert all(_count(mine, table) == 0 for table in MERGED_TABLES)
    assert path.read_bytes() == before  # refused before opening it for writing


def test_giant_records_and_too_many_rows_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    giant = _tampered(tmp_path, f"UPDATE responses SET text = printf('%.*c', {merge.MAX_VALUE_BYTES + 1}, 'x')",
                      name="giant.db")
    spread = _tampered(  # no single value is too big, the record is
        tmp_path,
        f"UPDATE trials SET prompt = printf('%.*c', {merge.MAX_RECORD_BYTES // 2}, 'x'), "
        f"system = printf('%.*c', {merge.MAX_RECORD_BYTES // 2}, 'y')",
        name="spread.db",
    )
    with open_store(tmp_path / "mine.db") as mine:
        for path, table in ((giant, "responses"), (spread, "trials")):
            with pytest.raises(StoreError, match=f"holds a record in {table} larger than 32 MiB"):
                mine.merge_from(path)
        monkeypatch.setattr(merge, "MAX_MERGE_ROWS", 2)
        with pytest.raises(StoreError, match="holds 3 rows, more than the 2 desk merges at once"):
            mine.merge_from(_tampered(tmp_path, name="many.db"))
        assert all(_count(mine, table) == 0 for table in MERGED_TABLES)


def _many_trials(path: Path, n: int) -> None:
    with open_store(path) as s, transaction(s.db):
        for i in range(n):
            s.trials.create(TrialInput(f"a colleague's trial {i}"))


def test_the_write_lock_is_free_between_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another connection writes while a merge is under way, and succeeds."""
    _many_trials(tmp_path / "theirs.db", 1200)
    monkeypatch.setattr(merge_batches, "_BATCH_ROWS", 100)
    mine_path = tmp_path / "mine.db"
    open_store(mine_path).close()
    wrote: list[str] = []
    failed: list[BaseException] = []

    def other_process_writes() -> None:
        try:
            with open_store(mine_path) as other:
                other.db.execute("PRAGMA busy_timeout = 2000")  # shorter than desk's, to fail fast
                for i in range(5):
                    wrote.append(other.trials.create(TrialInput(f"written during the merge {i}")))
        except BaseException as exc:  # reported by the test
            failed.append(exc)

    def step(i: int, n: int, table: str) -> None:
        # Between tables the merge holds no lock: a write made now must not wait for it.
        if table == "trial_attachments":
            writer = threading.Thread(target=other_process_writes)
            writer.start()
            writer.join(timeout=20)

    with open_store(mine_path) as mine:
        report = mine.merge_from(tmp_path / "theirs.db", step=step)
        assert failed == [] and len(wrote) == 5
        assert report.added["trials"] == 1200
        assert len(mine.trials.list(limit=2000)) == 1205


def test_a_writer_during_the_batches_waits_and_succeeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _many_trials(tmp_path / "theirs.db", 3000)
    monkeypatch.setattr(merge_batches, "_BATCH_ROWS", 50)
    mine_path = tmp_path / "mine.db"
    open_store(mine_path).close()
    started = threading.Event()
    merged = threading.Event()
    results: list[object] = []

    def merging() -> None:
        try:
            with open_store(mine_path) as mine:
                results.append(mine.merge_from(tmp_path / "theirs.db",
                                               step=lambda i, n, t: started.set() if t == "trials" else None))
        except BaseException as exc:  # reported by the test
            results.append(exc)
        finally:
            started.set()
            merged.set()

    thread = threading.Thread(target=merging)
    thread.start()
    assert started.wait(20)
    during = 0
    with open_store(mine_path) as other:
        while not merged.is_set() and during < 20:
            other.trials.create(TrialInput(f"written during the merge {during}"))
            during += 1
    thread.join(60)
    (report,) = results
    assert isinstance(report, merge.MergeReport), report
    assert report.added["trials"] == 3000 and during >= 1


def test_opening_an_up_to_date_store_waits_for_no_lock(tmp_path: Path) -> None:
    """While another process holds the write lock (a long write), desk still opens the
    store: it used to take the lock for every migration and fail with "cannot upgrade
    the database (database is locked)"."""
    path = tmp_path / "desk.db"
    open_store(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        db = connect(path)
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000  # every desk connection waits
        db.execute("PRAGMA busy_timeout = 0")  # here: fail at once if it needed the lock
        assert migrate(db) == []
        db.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
