"""Trials (what was sent) and their attachments, whose bytes live once each in `blobs`."""

from __future__ import annotations

import builtins
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from desk.core.attachment import Attachment, decode_text, sha256_hex
from desk.core.ids import new_id
from desk.core.tools import read_tools, rounds_as_json, rounds_from_json
from desk.core.trial import TrialInput
from desk.store.connection import Database
from desk.store.errors import StoreError
from desk.store.sql import Row, one, rows, transaction

PREVIEW_CHARS = 200


@dataclass(frozen=True)
class StoredTrial:
    """A trial as stored: its input exactly as sent, plus when and from what it was run."""

    id: str
    created_at: float
    parent_trial_id: str | None
    input: TrialInput
    note: str | None = None


@dataclass(frozen=True)
class TrialSummary:
    """One line of the history list."""

    id: str
    created_at: float
    prompt_preview: str  # the first PREVIEW_CHARS characters of the prompt
    n_responses: int
    models: tuple[str, ...]  # PROVIDER/MODEL of each response, in the order they were made
    parent_trial_id: str | None = None
    turns: int = 1  # the most turns any of its conversations took (a reply makes turn 2)


def check_attachments(attachments: Iterable[Attachment]) -> None:
    """The blob key must really be the content's hash, or two different files could share a
    row (and dedup would hand back the wrong bytes)."""
    for att in attachments:
        if sha256_hex(att.data) != att.sha256:
            raise StoreError(f"{att.name}: sha256 does not match its bytes")


def insert_attachments(db: Database, table: str, owner_column: str, owner_id: str,
                       attachments: Sequence[Attachment], now: float) -> None:
    """Each attachment's bytes once in `blobs` (content-addressed), and its row, in order, in
    `table` (trial_attachments or suite_case_attachments) under `owner_column` = `owner_id`."""
    for position, att in enumerate(attachments):
        db.execute(
            "INSERT INTO blobs (sha256, data, size, mime, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
            (att.sha256, att.data, att.size, att.mime, now),
        )
        db.execute(
            f"INSERT INTO {table} ({owner_column}, position, sha256, name, kind, "
            "mime, encoding, size, width, height) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (owner_id, position, att.sha256, att.name, att.kind, att.mime, att.encoding, att.size,
             att.width, att.height),
        )


class TrialTable:
    """The `trials` table (and its attachments): what was sent, searchable for the history."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        trial: TrialInput,
        *,
        trial_id: str | None = None,
        parent_trial_id: str | None = None,
    ) -> str:
        """Store a trial with its attachments in one transaction; return its id."""
        check_attachments(trial.attachments)
        trial_id = trial_id or new_id()
        now = time.time()
        try:
            with transaction(self.db):
                self.db.execute(
                    "INSERT INTO trials (id, created_at, prompt, system, parent_trial_id, tools_json, "
                    "tool_rounds_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (trial_id, now, trial.prompt, trial.system, parent_trial_id,
                     trial.tools.as_json() if trial.tools else None, rounds_as_json(trial.tool_rounds)),
                )
                insert_attachments(self.db, "trial_attachments", "trial_id", trial_id, trial.attachments, now)
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise StoreError(f"trial {trial_id} already exists") from None
            if "FOREIGN KEY" in str(exc) and parent_trial_id is not None:
                raise StoreError(f"no trial {parent_trial_id} to run again from") from None
            raise StoreError(f"the trial was not stored ({exc})") from None
        except sqlite3.Error as exc:  # a read-only file, a full disk
            raise StoreError(f"the trial was not stored ({exc})") from None
        return trial_id

    def get(self, trial_id: str) -> StoredTrial | None:
        row = one(self.db, "SELECT * FROM trials WHERE id = ?", (trial_id,))
        if row is None:
            return None
        found = rows(
            self.db,
            "SELECT a.*, b.data FROM trial_attachments a JOIN blobs b ON b.sha256 = a.sha256 "
            "WHERE a.trial_id = ? ORDER BY a.position",
            (trial_id,),
        )
        trial = TrialInput(
            prompt=row["prompt"],
            system=row["system"],
            attachments=tuple(_attachment(r) for r in found),
            tools=read_tools(row["tools_json"]) if row["tools_json"] else None,
            tool_rounds=rounds_from_json(row["tool_rounds_json"]),
        )
        return StoredTrial(
            id=row["id"],
            created_at=row["created_at"],
            parent_trial_id=row["parent_trial_id"],
            input=trial,
            note=row["note"],
        )

    def get_many(self, trial_ids: Sequence[str]) -> dict[str, StoredTrial]:
        """`get` of many at once (two queries per 500), by id; missing ones left out."""
        ids = list(dict.fromkeys(trial_ids))
        out: dict[str, StoredTrial] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            attachments: dict[str, list[Row]] = {}
            for r in rows(self.db, "SELECT a.*, b.data FROM trial_attachments a JOIN blobs b ON b.sha256 = a.sha256 "
                              f"WHERE a.trial_id IN ({marks}) ORDER BY a.trial_id, a.position", chunk):
                attachments.setdefault(r["trial_id"], []).append(r)
            for row in rows(self.db, f"SELECT * FROM trials WHERE id IN ({marks})", chunk):
                trial = TrialInput(prompt=row["prompt"], system=row["system"],
                                   attachments=tuple(_attachment(r) for r in attachments.get(row["id"], [])),
                                   tools=read_tools(row["tools_json"]) if row["tools_json"] else None,
                                   tool_rounds=rounds_from_json(row["tool_rounds_json"]))
                out[row["id"]] = StoredTrial(id=row["id"], created_at=row["created_at"],
                                             parent_trial_id=row["parent_trial_id"], input=trial, note=row["note"])
        return out

    def set_note(self, trial_id: str, note: str | None) -> None:
        if not self.db.execute("UPDATE trials SET note = ? WHERE id = ?", (note, trial_id)).rowcount:
            raise StoreError(f"no trial {trial_id}")

    def delete(self, trial_id: str) -> bool:
        """Delete a trial, its responses and attempts, and blobs no other trial uses."""
        with transaction(self.db):
            hashes = [
                r["sha256"]
                for r in rows(self.db, "SELECT sha256 FROM trial_attachments WHERE trial_id = ?", (trial_id,))
            ]
            deleted = self.db.execute("DELETE FROM trials WHERE id = ?", (trial_id,)).rowcount > 0
            for sha in set(hashes):
                self.db.execute(
                    "DELETE FROM blobs WHERE sha256 = ? AND NOT EXISTS "
                    "(SELECT 1 FROM trial_attachments WHERE sha256 = ?)",
                    (sha, sha),
                )
        return deleted

    def list(
        self, search: str | None = None, limit: int = 100, offset: int = 0, *, runs: bool = True
    ) -> builtins.list[TrialSummary]:
        """Trials newest first, optionally only those whose prompt or system match `search`.
        With `runs` False, only trials sent by hand: none whose answers belong to a load or
        suite run (a load run is one trial with hundreds of answers; a suite run, hundreds)."""
        hand_made = "" if runs else (
            " AND NOT EXISTS (SELECT 1 FROM responses rr WHERE rr.trial_id = t.id AND rr.run_id IS NOT NULL)")
        columns = (
            "t.id, t.created_at, t.parent_trial_id, substr(t.prompt, 1, ?) AS preview, "
            "(SELECT count(*) FROM responses r WHERE r.trial_id = t.id) AS n_responses, "
            "(SELECT max(tu.turn) FROM turns tu JOIN responses r ON r.id = tu.response_id "
            "WHERE r.trial_id = t.id) AS turns"
        )
        order = "ORDER BY t.created_at DESC, t.rowid DESC LIMIT ? OFFSET ?"
        words = (search or "").split()
        if not words:
            found = rows(self.db, f"SELECT {columns} FROM trials t WHERE 1{hand_made} {order}", (PREVIEW_CHARS, limit, offset))
        elif _fts_matches(self.db, words):
            found = rows(
                self.db,
                f"SELECT {columns} FROM trials t JOIN trials_fts ON trials_fts.trial_id = t.id "
                f"WHERE trials_fts MATCH ?{hand_made} {order}",
                (PREVIEW_CHARS, _fts_query(words), limit, offset),
            )
        else:
            # Substrings ("ello" in "hello"), scripts without spaces, or no FTS5 at all.
            where = " AND ".join(
                "(t.prompt LIKE ? ESCAPE '\\' OR coalesce(t.system, '') LIKE ? ESCAPE '\\')" for _ in words
            )
            params: list[object] = [PREVIEW_CHARS]
            for word in words:
                pattern = "%" + _like_escape(word) + "%"
                params += [pattern, pattern]
            found = rows(self.db, f"SELECT {columns} FROM trials t WHERE {where}{hand_made} {order}", (*params, limit, offset))
        models = _models_by_trial(self.db, [r["id"] for r in found])
        return [
            TrialSummary(
                id=r["id"],
                created_at=r["created_at"],
                prompt_preview=r["preview"],
                n_responses=r["n_responses"],
                models=tuple(models.get(r["id"], ())),
                parent_trial_id=r["parent_trial_id"],
                turns=r["turns"] or 1,
            )
            for r in found
        ]


def _fts_query(words: list[str]) -> str:
    # Every word must appear, as a prefix ("sum" finds "summary"); quoting keeps
    # words like NOT, OR or a stray '"' from being read as query syntax.
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


def _fts_matches(db: Database, words: list[str]) -> bool:
    """True when full-text search is available, valid for these words and finds something."""
    try:
        hit = db.conn.execute(
            "SELECT 1 FROM trials_fts WHERE trials_fts MATCH ? LIMIT 1", (_fts_query(words),)
        ).fetchone()
    except sqlite3.OperationalError:  # no FTS5 table, or words FTS cannot parse
        return False
    return hit is not None


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _models_by_trial(db: Database, trial_ids: list[str]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    if not trial_ids:
        return result
    marks = ", ".join("?" for _ in trial_ids)
    for r in rows(
        db,
        # A conversation's later turns are no more models: each model is named once per answer it began.
        f"SELECT trial_id, model FROM responses WHERE trial_id IN ({marks}) "
        "AND id NOT IN (SELECT response_id FROM turns) ORDER BY created_at, rowid",
        trial_ids,
    ):
        result.setdefault(r["trial_id"], []).append(r["model"])
    return result


def _attachment(row: Row) -> Attachment:
    data: bytes = row["data"]
    text = _decode(data, row["encoding"]) if row["kind"] == "data" else None
    return Attachment(
        kind=row["kind"],
        name=row["name"],
        mime=row["mime"],
        data=data,
        sha256=row["sha256"],
        encoding=row["encoding"],
        text=text,
        width=row["width"],
        height=row["height"],
    )


def _decode(data: bytes, encoding: str | None) -> str:
    """Decode with the codec recorded at attach time.

    Rebuilt directly rather than through `attachment_from_bytes`, so an old trial still
    opens if today's size limits or detection rules would refuse or re-read its file.
    Encodings look like "utf-8", "cp1252" or "utf-16 (BOM)" (see `decode_text`).
    """
    if encoding:
        base = encoding.removesuffix(" (BOM)")
        codec = "utf-8-sig" if encoding != base and base == "utf-8" else base
        try:
            return data.decode(codec)
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return decode_text(data)[0]
    except ValueError:
        return data.decode("utf-8", errors="replace")
