"""Judge prompt versions and judge verdicts (issue 14; migration m012).

A prompt template is never edited in place: a change is the next version of its name.
The shipped template is stored under a fixed id, so verdicts made with it in two stores
name the same row. A verdict's values are a rating (desk.store.ratings); its row here ties
that rating to the prompt version, the rationale and the judge's own request.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from desk.core.ids import new_id
from desk.core.judge import DEFAULT_PROMPT_NAME, DEFAULT_TEMPLATE, JudgePrompt, template_problems
from desk.store.connection import Database
from desk.store.errors import StoreError
from desk.store.ratings import RatingTable
from desk.store.sql import Row, one, rows, transaction

BUILTIN_PROMPT_ID = "0" * 20 + "JUDGE1"  # 26 characters, like a ULID


@dataclass(frozen=True)
class StoredVerdict:
    """One judge's reading of one answer: a rating (`rating_id`) or an error with the raw reply."""

    id: str
    response_id: str
    judge: str
    prompt_id: str
    rubric_id: str
    judge_response_id: str | None
    rating_id: str | None
    rationale: str
    error: str | None
    raw: str | None
    run_id: str | None
    created_at: float
    images: str | None = None  # the task's images: None (it had none), "sent" or "withheld"


class JudgePromptTable:
    """The stored judge prompt versions (table `judge_prompts`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def default(self) -> JudgePrompt:
        """The newest version of the default prompt, the shipped one stored on first use."""
        self.db.execute(
            "INSERT INTO judge_prompts (id, name, version, template, created_at) VALUES (?, ?, 1, ?, 0) "
            "ON CONFLICT DO NOTHING", (BUILTIN_PROMPT_ID, DEFAULT_PROMPT_NAME, DEFAULT_TEMPLATE))
        newest = self.newest(DEFAULT_PROMPT_NAME)
        assert newest is not None
        return newest

    def newest(self, name: str) -> JudgePrompt | None:
        row = one(self.db, "SELECT * FROM judge_prompts WHERE name = ? ORDER BY version DESC LIMIT 1", (name,))
        return _prompt(row) if row else None

    def get(self, prompt_id: str) -> JudgePrompt | None:
        row = one(self.db, "SELECT * FROM judge_prompts WHERE id = ?", (prompt_id,))
        return _prompt(row) if row else None

    def save_version(self, template: str, name: str = DEFAULT_PROMPT_NAME) -> JudgePrompt:
        """Store `template` as the next version of `name` (unchanged: the newest is returned)."""
        problems = template_problems(template)
        if problems:
            raise StoreError("judge prompt not saved: " + "; ".join(problems))
        with transaction(self.db):
            if name == DEFAULT_PROMPT_NAME:
                self.default()
            newest = self.newest(name)
            if newest is not None and newest.template == template:
                return newest
            stored = JudgePrompt(name, newest.version + 1 if newest else 1, template, new_id())
            self.db.execute(
                "INSERT INTO judge_prompts (id, name, version, template, created_at) VALUES (?, ?, ?, ?, ?)",
                (stored.id, stored.name, stored.version, stored.template, time.time()))
        return stored


class JudgeVerdictTable:
    """Judge verdicts and judge errors (table `judge_verdicts`), one per (answer, judge)."""

    def __init__(self, db: Database, ratings: RatingTable) -> None:
        self.db = db
        self._ratings = ratings

    def judged(self, judge: str, response_ids: Sequence[str]) -> set[str]:
        """Which of `response_ids` `judge` has a verdict or an error for, or a rating by it
        (one a merge brought without its verdict row): never judged again."""
        found: set[str] = set()
        ids = list(response_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            found |= {r["response_id"] for r in rows(
                self.db, f"SELECT response_id FROM judge_verdicts WHERE judge = ? AND response_id IN ({marks}) "
                         f"UNION SELECT response_id FROM ratings WHERE rater = ? AND response_id IN ({marks})",
                (judge, *chunk, judge, *chunk))}
        return found

    def request_failures(self, judge: str, response_ids: Sequence[str]) -> set[str]:
        """Which of `response_ids` hold only a judge error whose request to the judge failed
        (a timeout, a refused connection, an HTTP error): no reply was judged."""
        found: set[str] = set()
        ids = list(response_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found |= {r["response_id"] for r in rows(
                self.db, "SELECT v.response_id FROM judge_verdicts v JOIN responses r ON r.id = v.judge_response_id "
                         f"WHERE v.judge = ? AND v.rating_id IS NULL AND r.status != 'ok' "
                         f"AND v.response_id IN ({', '.join('?' * len(chunk))})", (judge, *chunk))}
        return found

    def forget_error(self, response_id: str, judge: str) -> None:
        """Drop `judge`'s error row for the answer (to judge it again); a verdict is never dropped."""
        self.db.execute("DELETE FROM judge_verdicts WHERE response_id = ? AND judge = ? AND rating_id IS NULL",
                        (response_id, judge))

    def save_verdict(self, response_id: str, judge: str, values: dict[str, Any], *, prompt_id: str,
                     rubric_id: str, rationale: str, judge_response_id: str | None,
                     run_id: str | None, images: str | None = None) -> StoredVerdict:
        """Store the verdict as a rating by `judge` and its row here, together or not at all."""
        with transaction(self.db):
            rating = self._ratings.save(response_id, judge, values, rubric_id=rubric_id)
            return self._insert(response_id, judge, prompt_id, rubric_id, judge_response_id,
                                rating.id, rationale, None, None, run_id, images)

    def save_error(self, response_id: str, judge: str, *, prompt_id: str, rubric_id: str, error: str,
                   raw: str | None, judge_response_id: str | None, run_id: str | None,
                   images: str | None = None) -> StoredVerdict:
        """Store a reply that is not a verdict (or a request that failed), with its raw text."""
        return self._insert(response_id, judge, prompt_id, rubric_id, judge_response_id,
                            None, "", error, raw, run_id, images)

    def _insert(self, response_id: str, judge: str, prompt_id: str, rubric_id: str,
                judge_response_id: str | None, rating_id: str | None, rationale: str,
                error: str | None, raw: str | None, run_id: str | None, images: str | None) -> StoredVerdict:
        verdict = StoredVerdict(new_id(), response_id, judge, prompt_id, rubric_id, judge_response_id,
                                rating_id, rationale, error, raw, run_id, time.time(), images)
        try:
            self.db.execute(
                "INSERT INTO judge_verdicts (id, response_id, judge, prompt_id, rubric_id, judge_response_id, "
                "rating_id, rationale, error, raw, run_id, created_at, images) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (verdict.id, response_id, judge, prompt_id, rubric_id, judge_response_id, rating_id,
                 rationale, error, raw, run_id, verdict.created_at, images))
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"answer {response_id} is already judged by {judge} ({exc})") from None
        return verdict

    def list(self, judge: str | None = None, response_ids: Sequence[str] | None = None) -> list[StoredVerdict]:
        where, params = ["1"], []
        if judge is not None:
            where.append("judge = ?")
            params.append(judge)
        if response_ids is not None:
            ids = list(response_ids)
            where.append(f"response_id IN ({', '.join('?' * len(ids))})" if ids else "0")
            params += ids
        found = rows(self.db, f"SELECT * FROM judge_verdicts WHERE {' AND '.join(where)} "
                              "ORDER BY created_at, id", params)
        return [StoredVerdict(**r) for r in found]


class CalibrationDrawTable:
    """The answers drawn for a run's calibration sample, in draw order (table `calibration_draws`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def drawn(self, run_id: str) -> list[tuple[str, int]]:
        """(response id, seed) of each answer drawn for `run_id`, first drawn first."""
        return [(r["response_id"], r["seed"]) for r in rows(
            self.db, "SELECT response_id, seed FROM calibration_draws WHERE run_id = ? ORDER BY position", (run_id,))]

    def record(self, run_id: str, response_id: str, seed: int) -> None:
        with transaction(self.db):
            row = one(self.db, "SELECT count(*) AS n FROM calibration_draws WHERE run_id = ?", (run_id,))
            self.db.execute(
                "INSERT INTO calibration_draws (run_id, response_id, seed, position, drawn_at) VALUES (?, ?, ?, ?, ?)",
                (run_id, response_id, seed, row["n"] if row else 0, time.time()))


def _prompt(row: Row) -> JudgePrompt:
    return JudgePrompt(row["name"], row["version"], row["template"], row["id"])
