"""Merging a judge's work (issue 14): judge prompt versions, verdicts and judge errors, and
the calibration samples people rated, so that two teams' stores pool them like ratings.

- A prompt version keeps its id, so every verdict keeps naming the version that made it.
  The shipped one (the same id in every store) is copied as it is; one whose template we
  hold already is mapped onto ours. Any other is kept under the name "NAME (merged from
  STORE)": a merge never changes which prompt this store's judge uses next.
- A verdict or judge error keeps its id, its rating (merged with the ratings) and its raw
  text; only its prompt and rubric ids follow the mappings. Where this store's judge
  judged the same answer, ours is kept (reported).
- A run's calibration sample: the other store's draws of answers we have not drawn are added
  after ours, in their order, each with its seed. Every draw was uniform at random and
  independent of any rating, so the pooled sample still is (the report names a second seed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from desk.store.connection import Database
from desk.store.judges import BUILTIN_PROMPT_ID
from desk.store.merge_batches import _batches, _columns, _ids_we_have, _insert_sql, _write
from desk.store.sql import Row, rows

JUDGE_TABLES = ("judge_prompts", "judge_verdicts", "calibration_draws")


def merge_judge_tables(db: Database, source: Database, origin: str, added: dict[str, int], conflicts: list[str],
                       rubric_ids: dict[str, str], tick: Callable[[str], None]) -> None:
    """Copy the three judge tables of `source` (after its responses, ratings and runs)."""
    tick("judge_prompts")
    prompt_ids, added["judge_prompts"] = _merge_prompts(db, source, origin, conflicts)
    tick("judge_verdicts")
    added["judge_verdicts"] = _merge_verdicts(db, source, conflicts, prompt_ids, rubric_ids)
    tick("calibration_draws")
    added["calibration_draws"] = _merge_draws(db, source, conflicts)


def _merge_prompts(db: Database, source: Database, origin: str,
                   conflicts: list[str]) -> tuple[dict[str, str], int]:
    """Copy prompt versions; return {their id: our id} for those mapped onto ours."""
    columns = _columns(db, "judge_prompts")
    mapped: dict[str, str] = {}
    cursor = source.conn.execute(f"SELECT {', '.join(columns)} FROM judge_prompts ORDER BY name, version, id")
    insert = _insert_sql("judge_prompts", columns)

    def one_batch(batch: list[tuple[Any, ...]]) -> int:
        added = 0
        for values in batch:
            theirs: Row = dict(zip(columns, values, strict=True))
            if db.conn.execute("SELECT 1 FROM judge_prompts WHERE id = ?", (theirs["id"],)).fetchone():
                continue
            if theirs["id"] == BUILTIN_PROMPT_ID:  # the shipped prompt: the same row in every store
                added += db.execute(insert, [theirs[c] for c in columns]).rowcount
                continue
            same = db.conn.execute("SELECT id FROM judge_prompts WHERE template = ? ORDER BY name, version LIMIT 1",
                                   (theirs["template"],)).fetchone()
            if same is not None:
                mapped[theirs["id"]] = same[0]
                continue
            name = f"{theirs['name']} (merged from {origin})"
            newest = db.conn.execute("SELECT max(version) FROM judge_prompts WHERE name = ?", (name,)).fetchone()[0]
            version = max(theirs["version"], (newest or 0) + 1)
            added += db.execute(insert, [{**theirs, "name": name, "version": version}[c] for c in columns]).rowcount
            conflicts.append(f"judge prompt {theirs['name']!r} version {theirs['version']} of the other store is "
                             f"kept for its verdicts as {name!r} version {version}; this store's judge prompt "
                             "stays the one its judge uses")
        return added

    added = sum(_write(db, one_batch, batch) for batch in _batches(cursor))
    return mapped, added


def _merge_verdicts(db: Database, source: Database, conflicts: list[str], prompt_ids: dict[str, str],
                    rubric_ids: dict[str, str]) -> int:
    columns = _columns(db, "judge_verdicts")
    cursor = source.conn.execute(f"SELECT {', '.join(columns)} FROM judge_verdicts ORDER BY rowid")
    insert = _insert_sql("judge_verdicts", columns)
    at = {c: columns.index(c) for c in ("id", "response_id", "judge", "prompt_id", "rubric_id")}
    kept_ours: dict[str, int] = {}

    def one_batch(batch: list[tuple[Any, ...]]) -> int:
        ours = _ids_we_have(db, "judge_verdicts", "id", [r[at["id"]] for r in batch])
        new = []
        for r in batch:
            if r[at["id"]] in ours:
                continue
            if db.conn.execute("SELECT 1 FROM judge_verdicts WHERE response_id = ? AND judge = ?",
                               (r[at["response_id"]], r[at["judge"]])).fetchone():
                kept_ours[r[at["judge"]]] = kept_ours.get(r[at["judge"]], 0) + 1
                continue
            row = list(r)
            row[at["prompt_id"]] = prompt_ids.get(r[at["prompt_id"]], r[at["prompt_id"]])
            row[at["rubric_id"]] = rubric_ids.get(r[at["rubric_id"]], r[at["rubric_id"]])
            new.append(tuple(row))
        return db.conn.executemany(insert, new).rowcount if new else 0

    added = sum(_write(db, one_batch, batch) for batch in _batches(cursor))
    for judge, n in sorted(kept_ours.items()):
        conflicts.append(f"{n} verdict(s) of {judge} from the other store concern answers this store's "
                         f"{judge} judged too: this store's verdicts kept")
    return added


def _merge_draws(db: Database, source: Database, conflicts: list[str]) -> int:
    """Per run, the other store's draws we lack, numbered on after ours."""
    added = 0
    for (run_id,) in source.conn.execute("SELECT DISTINCT run_id FROM calibration_draws ORDER BY run_id").fetchall():
        ours = rows(db, "SELECT response_id, seed, position FROM calibration_draws WHERE run_id = ? "
                        "ORDER BY position", (run_id,))
        have = {r["response_id"] for r in ours}
        theirs = [r for r in rows(source, "SELECT response_id, seed, position, drawn_at FROM calibration_draws "
                                          "WHERE run_id = ? ORDER BY position", (run_id,))
                  if r["response_id"] not in have]
        if not theirs:
            continue
        start = (ours[-1]["position"] + 1) if ours else 0
        new = [(run_id, r["response_id"], r["seed"], start + i, r["drawn_at"]) for i, r in enumerate(theirs)]
        added += sum(_write(db, lambda b: db.conn.executemany(
            "INSERT OR IGNORE INTO calibration_draws (run_id, response_id, seed, position, drawn_at) "
            "VALUES (?, ?, ?, ?, ?)", b).rowcount, new[i:i + 500]) for i in range(0, len(new), 500))
        seeds = {r["seed"] for r in ours} | {r["seed"] for r in theirs}
        if ours and len(seeds) > 1:
            conflicts.append(f"run {run_id}'s calibration sample was drawn in both stores (seeds "
                             f"{', '.join(str(s) for s in sorted(seeds))}): the other store's {len(new)} draw(s) "
                             "are added after this store's")
    return added
