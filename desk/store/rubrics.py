"""Rubric versions. A rubric is never edited in place: a change is stored as a new version.

The rubric desk ships (`DEFAULT_RUBRIC`) is stored under a fixed id, the same in every
store, so ratings made under it in two stores still name the same row after a merge.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from desk.core.ids import new_id
from desk.core.rating import CORE_CRITERIA
from desk.core.rubric import DEFAULT_RUBRIC, Criterion, Option, Rubric
from desk.store.connection import Database
from desk.store.errors import StoreError
from desk.store.sql import Row, one, rows, transaction

KINDS = ("choice", "scale", "text", "tags")


def builtin_rubric_id(version: int) -> str:
    """The fixed id of the shipped default rubric's `version` (26 characters, like a ULID)."""
    suffix = f"DEFV{version}"
    return "0" * (26 - len(suffix)) + suffix


class RubricTable:
    """The stored rubric versions (table `rubrics`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def default(self) -> Rubric:
        """The newest version of the rubric named like `DEFAULT_RUBRIC` ("default"), `id` set.

        Stores `DEFAULT_RUBRIC` first if this store has no row for its name and version.
        """
        name, version = DEFAULT_RUBRIC.name, DEFAULT_RUBRIC.version
        if one(self.db, "SELECT 1 AS x FROM rubrics WHERE name = ? AND version = ?", (name, version)) is None:
            self.db.execute(
                "INSERT INTO rubrics (id, name, version, criteria_json, created_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                # created_at 0: it ships with desk, so its row is the same in every store.
                (builtin_rubric_id(version), name, version, criteria_json(DEFAULT_RUBRIC), 0.0),
            )
        newest = self.newest(name)
        assert newest is not None
        return newest

    def newest(self, name: str) -> Rubric | None:
        row = one(self.db, "SELECT * FROM rubrics WHERE name = ? ORDER BY version DESC LIMIT 1", (name,))
        return rubric_from_row(row) if row else None

    def get(self, rubric_id: str) -> Rubric | None:
        row = one(self.db, "SELECT * FROM rubrics WHERE id = ?", (rubric_id,))
        return rubric_from_row(row) if row else None

    def list(self) -> list[Rubric]:
        """Every stored rubric version, by name then version."""
        return [rubric_from_row(r) for r in rows(self.db, "SELECT * FROM rubrics ORDER BY name, version")]

    def save_version(self, rubric: Rubric) -> Rubric:
        """Store `rubric` as the next version of its name; return it with `id` and `version` set.

        `rubric.id` and `rubric.version` are ignored. The core criteria (outcome,
        uncertainty, constraints, quality) must all be there with the same kind, option keys
        and scale range as in the newest stored version (or, for a new name, as in
        `DEFAULT_RUBRIC`): labels and hints may change, criteria may be added. When the
        criteria equal the newest version's, nothing is written and that version is returned.
        """
        problems = rubric_problems(rubric)
        with transaction(self.db):
            if rubric.name == DEFAULT_RUBRIC.name:
                self.default()  # the shipped version first, under its fixed id
            newest = self.newest(rubric.name)
            problems += core_changes(newest or DEFAULT_RUBRIC, rubric)
            if problems:
                raise StoreError(f"rubric {rubric.name!r} not saved: " + "; ".join(problems))
            if newest is not None and newest.criteria == rubric.criteria:
                return newest
            version = newest.version + 1 if newest else 1
            stored = Rubric(name=rubric.name, version=version, criteria=rubric.criteria, id=new_id())
            try:
                insert_rubric(self.db, stored)
            except sqlite3.IntegrityError:  # pragma: no cover - the write lock is held
                raise StoreError(f"rubric {rubric.name!r} version {version} already exists") from None
        return stored


def insert_rubric(db: Database, rubric: Rubric, created_at: float | None = None) -> None:
    db.execute(
        "INSERT INTO rubrics (id, name, version, criteria_json, created_at) VALUES (?, ?, ?, ?, ?)",
        (rubric.id, rubric.name, rubric.version, criteria_json(rubric), created_at or time.time()),
    )


def rubric_problems(rubric: Rubric) -> list[str]:
    """What makes a rubric unusable on its own (bad kinds, duplicate keys...)."""
    problems: list[str] = []
    if not rubric.name.strip():
        problems.append("the rubric needs a name")
    seen: set[str] = set()
    for c in rubric.criteria:
        if not c.key:
            problems.append("a criterion has no key")
        if c.key in seen:
            problems.append(f"criterion {c.key!r} appears twice")
        seen.add(c.key)
        if c.kind not in KINDS:
            problems.append(f"{c.key}: kind {c.kind!r} is not one of {', '.join(KINDS)}")
        if c.kind == "choice":
            keys = c.option_keys()
            if not keys:
                problems.append(f"{c.key}: a choice needs options")
            if len(set(keys)) != len(keys) or "" in keys:
                problems.append(f"{c.key}: option keys must be unique and not empty")
        if c.kind == "scale" and c.low > c.high:
            problems.append(f"{c.key}: the scale runs from {c.low} to {c.high}")
    return problems


def core_changes(before: Rubric, after: Rubric) -> list[str]:
    """How `after` changes the meaning of a core criterion of `before` (empty = it does not)."""
    problems: list[str] = []
    for key in CORE_CRITERIA:
        try:
            old = before.criterion(key)
        except KeyError:  # pragma: no cover - every stored rubric has the core criteria
            continue
        try:
            new = after.criterion(key)
        except KeyError:
            problems.append(f"core criterion {key!r} cannot be removed")
            continue
        if new.kind != old.kind:
            problems.append(f"core criterion {key!r} must stay a {old.kind}")
        elif new.option_keys() != old.option_keys():
            problems.append(f"the options of core criterion {key!r} must stay {', '.join(old.option_keys())}")
        elif (new.low, new.high) != (old.low, old.high):
            problems.append(f"core criterion {key!r} must stay a scale from {old.low} to {old.high}")
    return problems


def criteria_json(rubric: Rubric) -> str:
    return json.dumps([_criterion_dict(c) for c in rubric.criteria], ensure_ascii=False)


def rubric_from_row(row: Row) -> Rubric:
    return Rubric(
        name=row["name"],
        version=row["version"],
        criteria=criteria_from_json(row["criteria_json"]),
        id=row["id"],
    )


def criteria_from_json(text: str) -> tuple[Criterion, ...]:
    return tuple(
        Criterion(
            key=c["key"],
            label=c["label"],
            kind=c["kind"],
            options=tuple(Option(o["key"], o["label"], o.get("hint", "")) for o in c.get("options", ())),
            low=c.get("low", 1),
            high=c.get("high", 5),
            required=c.get("required", True),
        )
        for c in json.loads(text)
    )


def _criterion_dict(c: Criterion) -> dict[str, Any]:
    return {
        "key": c.key,
        "label": c.label,
        "kind": c.kind,
        "options": [{"key": o.key, "label": o.label, "hint": o.hint} for o in c.options],
        "low": c.low,
        "high": c.high,
        "required": c.required,
    }
