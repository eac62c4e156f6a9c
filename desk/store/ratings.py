"""Ratings of single answers and preferences between two, kept with their full history.

Nothing here is updated in place. Editing a rating (or preference) inserts a new row
whose `supersedes` names the one it replaces; the *current* rating of a response by a
rater is the newest of that rater's rows for it that nothing supersedes.

Rows a merge brought in keep the store they came from (`origin`, NULL for rows made
here). A name is not an identity: a merged row only supersedes rows of its own origin,
and a rater's rows made here always win over merged rows by the same name, so a
colleague's store can never replace what a rater of this store said. Among merged
rows alone the newest counts.
"""

from __future__ import annotations

import json
import operator
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import compress, islice, repeat
from operator import itemgetter
from typing import Any, cast

from desk.core.constraint_reading import DESK_KEY
from desk.core.gil_slices import in_slices, mapped
from desk.core.ids import new_id
from desk.core.letting_go import let_go
from desk.core.rating import Preference, PreferenceFigures, Rating, RatingCell, RatingFigures, RatingFilter
from desk.core.records import preference_fields, preference_from_fields, rating_fields, rating_from_fields
from desk.core.response import ResponseResult
from desk.core.rubric import CONSTRAINTS, OUTCOMES, UNCERTAINTY, WINNERS, Rubric
from desk.store.connection import Database
from desk.store.errors import StoreError
from desk.store.responses import response_values_by_ids, responses_by_ids
from desk.store.rubrics import RubricTable
from desk.store.sql import Row, fetch_all, one, rows, transaction

# A preference's row: desk.core.records.preference_fields under these names (`supersedes`
# added by the save, `origin` by a merge alone).
_PREFERENCE_COLUMNS = ("id", "response_a", "response_b", "winner", "reason", "rater", "created_at", "blind",
                       "shown_order_json", "supersedes")
_INSERT_PREFERENCE = (f"INSERT INTO preferences ({', '.join(_PREFERENCE_COLUMNS)}) "
                      f"VALUES ({', '.join('?' * len(_PREFERENCE_COLUMNS))})")
# Criteria with a column of their own; "tags" goes to tags_json, every other key to extra_json.
COLUMN_KEYS = ("outcome", "uncertainty", "constraints", "quality", "note")
TAGS_KEY = "tags"


class RatingTable:
    """Ratings and preferences (tables `ratings`, `preferences`), with their history."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._rubrics = RubricTable(db)

    def save(
        self,
        response_id: str,
        rater: str,
        values: Mapping[str, Any],
        *,
        rubric_id: str | None = None,
        blind: bool = False,
        shown_order: Sequence[str] = (),
    ) -> Rating:
        """Store `rater`'s judgement of a response under a rubric version (default: the newest
        version of the default rubric) and return it.

        Values are checked with the rubric first; on any problem a StoreError lists them all
        and nothing is written. Empty values (None, "", []) are dropped, tags are stripped
        and de-duplicated. If the rater already rated this response, the new row supersedes
        their current one.
        """
        rater = _rater(rater)
        rubric = self._rubrics.default() if rubric_id is None else self._rubrics.get(rubric_id)
        if rubric is None:
            raise StoreError(f"no rubric {rubric_id}")
        found = responses_by_ids(self.db, [response_id]).get(response_id)
        if found is None:
            raise StoreError(f"no response {response_id}")
        clean = clean_values(rubric, values, failed=found.failed)
        with transaction(self.db):
            previous = one(
                self.db,
                f"SELECT id, created_at FROM ratings r WHERE response_id = ? AND rater = ? AND {_LOCAL} "
                f"AND {_NOT_SUPERSEDED.format(table='ratings')} ORDER BY created_at DESC, id DESC LIMIT 1",
                (response_id, rater),
            )
            rating = Rating(
                id=new_id(),
                response_id=response_id,
                rater=rater,
                rubric_id=rubric.id or "",
                created_at=_after(previous),
                values=clean,
                blind=bool(blind),
                shown_order=tuple(shown_order),
                supersedes=previous["id"] if previous else None,
            )
            _insert_rating(self.db, rating)
        return rating

    def current(
        self, response_ids: Sequence[str] | None = None, rater: str | None = None
    ) -> list[Rating]:
        """Current ratings, oldest first; optionally only of these responses, or by this rater."""
        where: list[str] = []
        params: list[Any] = []
        if response_ids is not None:
            if not response_ids:
                return []
            where.append(f"r.response_id IN ({_marks(response_ids)})")
            params += list(response_ids)
        if rater is not None:
            where.append("r.rater = ?")
            params.append(rater)
        return [_rating(r) for r in _current_rating_rows(self.db, where, params)]

    def cells(self, response_ids: Sequence[str]) -> list[RatingCell]:
        """`current(response_ids)`, in its order, as RatingCells: the values read from their
        columns (a row whose extra criteria repeat one of them is read as `current` reads it).
        As `figures`, the rows nothing supersedes are those unless a merge left a rater two of
        one answer: only then are they ranked (a window over them all, most of the read)."""
        if not response_ids:
            return []
        where = ["r.response_id IN (SELECT value FROM json_each(?))"]
        params = [json.dumps(list(response_ids))]
        found = fetch_all(self.db.conn.execute(_unsuperseded_sql(where, columns=_CELL_COLUMNS) + " ORDER BY 1, 2",
                                     params))
        if _repeats_a_pair(found):
            found = fetch_all(self.db.conn.execute(_current_rating_sql(where, columns=_CELL_COLUMNS), params))
        found.sort(key=_OLDEST_FIRST)
        out = cast("list[RatingCell]", mapped(tuple.__new__, repeat(RatingCell), map(_CELL_FIELDS, found)))  # gil_slices
        for k in compress(range(len(found)), map(_EXTRA.__ne__, map(itemgetter(8), found))):
            response_id, rater, created_at, *values, extra, _ = found[k][:10]  # another criterion, or (never
            given = _json(extra, {})  # written so) one of these again: as `_rating` reads it
            outcome, uncertainty, constraints, quality, note = (given.get(key, value) for key, value in
                                                                zip(COLUMN_KEYS, values, strict=True))
            out[k] = RatingCell(response_id, rater, created_at, outcome, uncertainty, constraints, quality,
                                str(note or ""))
        let_go(found)  # not all at once on return
        return out

    def rated_by(self, rater: str, response_ids: Sequence[str]) -> set[str]:
        """The responses among `response_ids` that `rater` has a current rating of: any row
        of theirs is one (an edit supersedes a rating, nothing deletes one), so no rows are
        ranked nor read."""
        found = fetch_all(self.db.conn.execute(
            "SELECT response_id FROM ratings WHERE rater = ? AND response_id IN (SELECT value FROM json_each(?))",
            (rater, json.dumps(list(response_ids)))))
        return set(map(itemgetter(0), found))

    def history(self, response_id: str, rater: str) -> list[Rating]:
        """Every rating by that name of this response, oldest first, merged ones (their
        `origin` set) included; the last made here is normally current."""
        found = rows(
            self.db,
            "SELECT * FROM ratings WHERE response_id = ? AND rater = ? ORDER BY created_at, id",
            (response_id, rater),
        )
        return [_rating(r) for r in found]

    def for_trial(self, trial_id: str) -> list[Rating]:
        """The current ratings (every rater's) of a trial's responses, oldest first."""
        where = ["r.response_id IN (SELECT id FROM responses WHERE trial_id = ?)"]
        return [_rating(r) for r in _current_rating_rows(self.db, where, [trial_id])]

    def rated_responses(self, filters: RatingFilter | None = None) -> list[tuple[ResponseResult, Rating]]:
        """(response with its attempts, current rating) pairs matching `filters`.

        A response rated by two raters appears twice. Ordered by when the response was
        stored, then by rater.
        """
        return [pair for batch in self.rated_response_batches(filters) for pair in batch]

    def rated_response_batches(
        self, filters: RatingFilter | None = None, size: int = 500, *, attempts: bool = True
    ) -> Iterator[list[tuple[ResponseResult, Rating]]]:
        """`rated_responses` a batch of up to `size` pairs at a time, read as they are
        consumed: memory stays flat however many answers the store holds. `attempts` False
        leaves each response's attempts out (a flat table has no place for them)."""
        for ratings in self._current_batches(filters or RatingFilter(), size):
            found = responses_by_ids(self.db, [r.response_id for r in ratings], attempts=attempts)
            yield [(found[r.response_id], r) for r in ratings]

    def rated_answer_batches(
        self, filters: RatingFilter | None = None, size: int = 500, *, attempts: bool = True
    ) -> Iterator[list[tuple[dict[str, Any], Rating]]]:
        """`rated_response_batches` with each response as plain values (the shape of
        desk.core.records.response_fields; see responses.response_values_by_ids): what an
        export writes, without building a ResponseResult per answer."""
        for ratings in self._current_batches(filters or RatingFilter(), size):
            found = response_values_by_ids(self.db, [r.response_id for r in ratings], attempts=attempts)
            yield [(found[r.response_id], r) for r in ratings]

    def _current_batches(self, f: RatingFilter, size: int) -> Iterator[list[Rating]]:
        """The current ratings `f` selects, in the order their responses were stored."""
        sql, params = _matching_sql(f)
        cursor = self.db.conn.execute(
            f"SELECT c.* FROM ({sql}) c JOIN responses p ON p.id = c.response_id "
            "ORDER BY p.created_at, p.rowid, c.rater, c.created_at",
            params,
        )
        names = [d[0] for d in cursor.description]
        while chunk := cursor.fetchmany(size):
            yield [r for r in (_rating(dict(zip(names, row, strict=True))) for row in chunk) if _selected(r, f)]

    def matching(self, filters: RatingFilter | None = None) -> list[Rating]:
        """The current ratings `rated_responses` pairs with their responses (in no particular
        order), without reading the responses."""
        f = filters or RatingFilter()
        sql, params = _matching_sql(f)
        return [r for r in (_rating(row) for row in rows(self.db, sql, params)) if _selected(r, f)]

    def figures(self, filters: RatingFilter | None = None) -> list[RatingFigures]:
        """The current ratings `matching` selects, as the few values a scorecard counts: no
        Rating, no JSON parsed but a tag filter's. Ordered by answer and rater (SQLite's
        order of text is Python's: UTF-8's bytes sort as its code points), so a caller that
        needs that order sorts nothing (a sort of 100,000 in one call holds the GIL 25 ms)."""
        f = filters or RatingFilter()
        # Ranking the rows of each (response, rater) is most of the time; in a store no merge
        # brought a second current row into, every row nothing supersedes is current.
        # Without a tag, the rows nothing supersedes are read and checked in one scan (a pair
        # met twice: rank them); a tag narrows rows, not pairs, so the table is asked first.
        # With a tag, each row read says how many rows of its pair nothing supersedes: the
        # tagged rows alone are probed, not every rating (a scan of them all, twice the time).
        sql, params = _matching_sql(f, columns=_FIGURE_COLUMNS, unsuperseded=True)
        if f.tags:
            sql = f"SELECT q.*, ({_PAIR_ROWS}) FROM ({sql}) q"
        found = fetch_all(self.db.conn.execute(sql + " ORDER BY 1, 2", params))  # the ranking's order
        if (max(map(itemgetter(9), found), default=1) > 1) if f.tags else _repeats_a_pair(found):
            sql, params = _matching_sql(f, columns=_FIGURE_COLUMNS)
            found = fetch_all(self.db.conn.execute(sql + " ORDER BY 1, 2", params))
        if f.since is not None or f.until is not None or f.tags:
            has_tags = _has_tags(f.tags)
            found = [row for row in found
                     if (f.since is None or row[2] >= f.since) and (f.until is None or row[2] < f.until)
                     and (not f.tags or has_tags(row[8]))]  # tags_json, with a tag filter
        made = in_slices(_figure_rows, found)  # a row may end in tags, a count or the partition's row number
        let_go(found)  # not all at once on return
        return made

    def preference_figures(self, rater: str | None = None) -> list[PreferenceFigures]:
        """`current_preferences` (in their order) as the scorecard counts them. The rows nothing
        supersedes are those, in the same order, unless a merge left a rater two of one pair:
        then they are ranked (a window over every preference, most of the read's time)."""
        where, params = ("", []) if rater is None else (" AND r.rater = ?", [rater])
        found = fetch_all(self.db.conn.execute(
            f"SELECT r.response_a, r.response_b, r.winner, r.rater FROM preferences r "
            f"WHERE {_NONE_SUPERSEDES.format(table='preferences')}{where} ORDER BY r.created_at, r.id", params))
        if len({(min(a, b), max(a, b), who) for a, b, _, who in found}) < len(found):
            sql, params = _current_preference_sql(rater, None, columns="r.response_a, r.response_b, r.winner, r.created_at, r.id")
            found = fetch_all(self.db.conn.execute(sql, params))
        return [PreferenceFigures(a, b, winner) for a, b, winner, *_ in found]

    def matching_keys(self, filters: RatingFilter | None = None) -> tuple[int, list[str]]:
        """How many current ratings match `filters`, and the value keys they hold beyond the
        columns and tags (extra criteria; first seen first), without building a Rating."""
        f = filters or RatingFilter()
        sql, params = _matching_sql(f)
        cursor = self.db.conn.execute(f"SELECT created_at, tags_json, extra_json FROM ({sql})", params)
        count, keys = 0, dict[str, None]()
        wanted = set(f.tags)
        for created_at, tags_json, extra_json in cursor:
            if (f.since is not None and created_at < f.since) or (f.until is not None and created_at >= f.until):
                continue
            if wanted and not wanted <= set(_json(tags_json, [])):
                continue
            count += 1
            for key in _json(extra_json, {}):
                keys.setdefault(key)
        return count, list(keys)

    def save_preference(
        self,
        response_a: str,
        response_b: str,
        winner: str,
        rater: str,
        *,
        reason: str = "",
        blind: bool = False,
        shown_order: Sequence[str] = (),
    ) -> Preference:
        """Store which of two answers to the same trial `rater` prefers, and return it.

        `winner` is one of WINNERS ("a" = `response_a`, the left pane). An earlier preference
        of the same rater on the same pair, in either order, is superseded.
        """
        rater = _rater(rater)
        if winner not in WINNERS:
            raise StoreError(f"winner {winner!r} is not one of {', '.join(WINNERS)}")
        if response_a == response_b:
            raise StoreError("a preference compares two different answers")
        trials: list[str] = []
        for response_id in (response_a, response_b):
            row = one(self.db, "SELECT trial_id FROM responses WHERE id = ?", (response_id,))
            if row is None:
                raise StoreError(f"no response {response_id}")
            trials.append(row["trial_id"])
        if trials[0] != trials[1]:
            raise StoreError(f"responses {response_a} and {response_b} answer different trials "
                             f"({trials[0]}, {trials[1]})")
        with transaction(self.db):
            previous = one(
                self.db,
                f"SELECT id, created_at FROM preferences r WHERE rater = ? AND {_LOCAL} "
                "AND ((response_a = ? AND response_b = ?) OR (response_a = ? AND response_b = ?)) "
                f"AND {_NOT_SUPERSEDED.format(table='preferences')} ORDER BY created_at DESC, id DESC LIMIT 1",
                (rater, response_a, response_b, response_b, response_a),
            )
            pref = Preference(
                id=new_id(),
                response_a=response_a,
                response_b=response_b,
                winner=winner,
                rater=rater,
                created_at=_after(previous),
                reason=reason or "",
                blind=bool(blind),
                shown_order=tuple(shown_order),
            )
            row = preference_fields(pref)
            row.update(blind=int(row["blind"]), shown_order_json=json.dumps(row["shown_order"]),
                       supersedes=previous["id"] if previous else None)
            self.db.execute(_INSERT_PREFERENCE, [row[c] for c in _PREFERENCE_COLUMNS])
        return pref

    def current_preferences(
        self, rater: str | None = None, *, trial_id: str | None = None
    ) -> list[Preference]:
        """Current preferences (one per rater and unordered pair), oldest first."""
        sql, params = _current_preference_sql(rater, trial_id)
        found = rows(self.db, sql, params)
        return [
            preference_from_fields({**r, "blind": bool(r["blind"]),
                                    "shown_order": json.loads(r["shown_order_json"] or "[]")})
            for r in found
        ]


def clean_values(rubric: Rubric, values: Mapping[str, Any], *, failed: bool = False) -> dict[str, Any]:
    """The values as they will be stored, or StoreError listing every problem (a `failed`
    answer is rated by its outcome alone, see Rubric.validate)."""
    clean: dict[str, Any] = {}
    problems: list[str] = []
    kinds = {c.key: c.kind for c in rubric.criteria}
    for key, value in values.items():
        kind = kinds.get(key)
        if kind == "tags" and isinstance(value, list | tuple):
            if not all(isinstance(t, str) for t in value):
                problems.append(f"{rubric.criterion(key).label}: tags must be text")
                continue
            value = list(dict.fromkeys(t.strip() for t in value if t.strip()))
        elif kind == "tags" and value not in (None, ""):
            problems.append(f"{rubric.criterion(key).label}: must be a list of tags")
            continue
        elif kind == "text" and value is not None and not isinstance(value, str):
            problems.append(f"{rubric.criterion(key).label}: must be text")
            continue
        clean[key] = value
    problems = rubric.validate(clean, failed=failed) + problems
    if problems:
        raise StoreError("rating not saved: " + "; ".join(problems))
    return {k: v for k, v in clean.items() if v not in (None, "", [])}


def _matching_sql(f: RatingFilter, *, columns: str = "r.*", unsuperseded: bool = False) -> tuple[str, list[Any]]:
    """(SQL, parameters) of the current ratings `f` may select; `_selected` has the last word.

    Trials and rater pick rows within a (response, rater) partition. A tag narrows the
    current rows by its JSON text in tags_json: a superset (LIKE ignores ASCII case), which
    spares parsing the ratings without it. Only ASCII tags: other text may be stored
    escaped (\\u00e9) by another writer. `unsuperseded`: every row nothing supersedes is
    current (`_one_current_each` said so), which spares ranking them."""
    where: list[str] = []
    params: list[Any] = []
    if f.trial_ids:
        where.append(f"r.response_id IN (SELECT id FROM responses WHERE trial_id IN ({_marks(f.trial_ids)}))")
        params += list(f.trial_ids)
    if f.rater is not None:
        where.append("r.rater = ?")
        params.append(f.rater)
    columns += ", r.tags_json" if f.tags and columns != "r.*" else ""
    sql = _unsuperseded_sql(where, columns=columns) if unsuperseded else _current_rating_sql(where, columns=columns)
    for tag in f.tags:
        if tag.isascii():
            quoted = json.dumps(tag).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            sql += " AND tags_json LIKE ? ESCAPE '\\'"
            params.append(f"%{quoted}%")
    return sql, params


def _has_tags(tags: Sequence[str]) -> Callable[[str], bool]:
    """Whether a tags_json holds every one of `tags`: each distinct text is parsed once (a
    store's ratings hold a few sets of tags, written alike, over thousands of rows)."""
    wanted, seen = set(tags), dict[str, bool]()

    def has(text: str) -> bool:
        found = seen.get(text)
        if found is None:
            found = seen[text] = wanted <= set(_json(text, []))
        return found
    return has


def _selected(r: Rating, f: RatingFilter) -> bool:
    # Time and tags narrow the *current* ratings, so they are applied after choosing them.
    return ((f.since is None or r.created_at >= f.since) and (f.until is None or r.created_at < f.until)
            and set(f.tags) <= set(r.tags))


# helpers

# `r` is the row in question; true when no row of the same table and origin names it as
# replaced (a merged row naming one of ours, or another store's, replaces nothing).
_NOT_SUPERSEDED = "NOT EXISTS (SELECT 1 FROM {table} s WHERE s.supersedes = r.id AND s.origin IS r.origin)"
# The same for a read of many rows: a row no row names at all (most, read against the few
# names in a list made once) needs no lookup of its own.
_NONE_SUPERSEDES = ("(r.id NOT IN (SELECT supersedes FROM {table} WHERE supersedes IS NOT NULL) OR "
                    f"{_NOT_SUPERSEDED})")
# Made in this store, not brought by a merge.
_LOCAL = "r.origin IS NULL"
# Which of a rater's unsuperseded rows counts: one made here, else the newest.
_LOCAL_FIRST = "(r.origin IS NULL) DESC, r.created_at DESC, r.id DESC"


# The choice criteria (RatingFigures' fields 3-5) come as the index of a rubric value, any
# other value as stored: `_figure_rows` makes them the rubric's own strings again, one object
# per value (SQLite's text would be 330,000 new strings at 100,000 ratings, each compared by
# its characters where the same object compares by identity).
_CHOICES = ((3, OUTCOMES), (4, UNCERTAINTY), (5, CONSTRAINTS))


def _coded(column: str, values: Sequence[str]) -> str:
    whens = " ".join(f"WHEN '{value}' THEN {k}" for k, value in enumerate(values))
    return f"CASE {column} {whens} ELSE NULLIF({column}, '') END"


# A rating's values as RatingFigures holds them: an empty text is no value (as in `_rating`).
_FIGURE_COLUMNS = (
    f"r.response_id, r.rater, r.created_at, {_coded('r.outcome', OUTCOMES)}, "
    f"{_coded('r.uncertainty', UNCERTAINTY)}, {_coded('r.constraints', CONSTRAINTS)}, NULLIF(r.quality, ''), "
    f"CASE WHEN r.extra_json != '{{}}' THEN json_extract(r.extra_json, '$.{DESK_KEY}') END"
)


def _figure_rows(found: Sequence[Any]) -> list[RatingFigures]:
    """RatingFigures of rows read by _FIGURE_COLUMNS (and maybe more columns after them), by C loops."""
    if not found:
        return []
    columns: list[Iterable[Any]] = []
    columns += [*zip(*found, strict=True)][: len(RatingFigures._fields)]
    for k, values in _CHOICES:
        value = dict(enumerate(values))
        columns[k] = map(value.get, columns[k], columns[k])  # a value not coded is itself
    return cast("list[RatingFigures]", [*map(tuple.__new__, repeat(RatingFigures), zip(*columns, strict=True))])


# How many rows of a (response, rater) pair `q` nothing supersedes: more than one only after a merge.
_PAIR_ROWS = ("SELECT count(*) FROM ratings o WHERE o.response_id = q.response_id AND o.rater = q.rater AND "
              "NOT EXISTS (SELECT 1 FROM ratings s WHERE s.supersedes = o.id AND s.origin IS o.origin)")


def _current_preference_sql(rater: str | None, trial_id: str | None, *,
                            columns: str = "r.*") -> tuple[str, list[Any]]:
    """(SQL, parameters) of the current preferences (one per rater and unordered pair), oldest first."""
    where: list[str] = []
    params: list[Any] = []
    if rater is not None:
        where.append("r.rater = ?")
        params.append(rater)
    if trial_id is not None:
        where.append("r.response_a IN (SELECT id FROM responses WHERE trial_id = ?)")
        params.append(trial_id)
    extra = "".join(f" AND {w}" for w in where)
    return (
        f"SELECT * FROM (SELECT {columns}, row_number() OVER ("
        "PARTITION BY min(r.response_a, r.response_b), max(r.response_a, r.response_b), r.rater "
        f"ORDER BY {_LOCAL_FIRST}) AS n_ "
        f"FROM preferences r WHERE {_NONE_SUPERSEDES.format(table='preferences')}{extra}) "
        "WHERE n_ = 1 ORDER BY created_at, id"
    ), params


def _current_rating_rows(db: Database, where: list[str], params: list[Any], *, ordered: bool = True) -> list[Row]:
    # the sort is a third of the time at 100,000 ratings
    return rows(db, _current_rating_sql(where) + (" ORDER BY created_at, id" if ordered else ""), params)


def _unsuperseded_sql(where: list[str], *, columns: str) -> str:
    """`_current_rating_sql`'s rows (in no order) when each (response, rater) has one row nothing supersedes."""
    extra = "".join(f" AND {w}" for w in where)
    return f"SELECT {columns} FROM ratings r WHERE {_NONE_SUPERSEDES.format(table='ratings')}{extra}"


def _repeats_a_pair(found: list[Any]) -> bool:
    """Whether rows ordered by (response, rater) hold one pair twice: a merge's second current row.
    The answers met twice in a row (those rated by several raters, a tenth) are found by C
    loops; only their raters are compared one by one."""
    ids = list(map(itemgetter(0), found))
    again = compress(range(1, len(ids)), map(operator.eq, ids, islice(ids, 1, None)))
    return any(found[i][1] == found[i - 1][1] for i in again)


def _one_current_each(db: Database) -> bool:
    """Whether no rater has two rows of one response that nothing supersedes (only a merge
    makes such rows: an edit supersedes the rating it replaces)."""
    return db.conn.execute(
        f"SELECT 1 FROM ratings r WHERE {_NONE_SUPERSEDES.format(table='ratings')} "
        "GROUP BY r.response_id, r.rater HAVING count(*) > 1 LIMIT 1").fetchone() is None


# RatingTable.cells' columns: an empty text is no value, as `_rating` reads them; a note is
# always text.
_CELL_COLUMNS = ("r.response_id, r.rater, r.created_at, NULLIF(r.outcome, ''), NULLIF(r.uncertainty, ''), "
                 "NULLIF(r.constraints, ''), NULLIF(r.quality, ''), coalesce(r.note, ''), r.extra_json, r.id")
_CELL_FIELDS = itemgetter(*range(len(RatingCell._fields)))
_OLDEST_FIRST = itemgetter(2, 9)  # (created_at, id): `current`'s order
_EXTRA = "{}"


def _current_rating_sql(where: list[str], *, columns: str = "r.*") -> str:
    # The filters must only use the response and the rater (the partition), so that they
    # never change which of a rater's rows is current.
    extra = "".join(f" AND {w}" for w in where)
    return (
        f"SELECT * FROM (SELECT {columns}, row_number() OVER ("
        f"PARTITION BY r.response_id, r.rater ORDER BY {_LOCAL_FIRST}) AS n_ "
        f"FROM ratings r WHERE {_NONE_SUPERSEDES.format(table='ratings')}{extra}) "
        "WHERE n_ = 1"
    )


# A rating's row: desk.core.records.rating_fields under these names, its criterion values
# spread into COLUMN_KEYS, tags_json and extra_json (`origin` is set by a merge alone).
_RATING_COLUMNS = ("id", "response_id", "rater", "rubric_id", "created_at", *COLUMN_KEYS, "tags_json",
                   "extra_json", "blind", "shown_order_json", "supersedes")
_INSERT_RATING = (f"INSERT INTO ratings ({', '.join(_RATING_COLUMNS)}) "
                  f"VALUES ({', '.join('?' * len(_RATING_COLUMNS))})")


def _insert_rating(db: Database, rating: Rating) -> None:
    row = rating_fields(rating)
    values = row["values"]
    row.update({k: values.get(k) for k in COLUMN_KEYS})
    row.update(
        tags_json=json.dumps(values.get(TAGS_KEY) or [], ensure_ascii=False),
        extra_json=json.dumps({k: v for k, v in values.items() if k not in COLUMN_KEYS and k != TAGS_KEY},
                              ensure_ascii=False),
        blind=int(row["blind"]),
        shown_order_json=json.dumps(row["shown_order"]),
    )
    db.execute(_INSERT_RATING, [row[c] for c in _RATING_COLUMNS])


def _rating(row: Row) -> Rating:
    values: dict[str, Any] = {k: row[k] for k in COLUMN_KEYS if row[k] not in (None, "")}
    tags = _json(row["tags_json"], [])
    if tags:
        values[TAGS_KEY] = tags
    values.update(_json(row["extra_json"], {}))
    return rating_from_fields({**row, "values": values, "blind": bool(row["blind"]),
                               "shown_order": _json(row["shown_order_json"], ())})


def _json(text: str | None, empty: Any) -> Any:
    """Parsed JSON; most rows hold an empty list or object, which need no parser."""
    return empty if not text or text in ("[]", "{}") else json.loads(text)


def _rater(rater: str) -> str:
    name = (rater or "").strip()
    if not name:
        raise StoreError("a rater name is needed (set it in Settings)")
    return name


def _after(previous: Row | None) -> float:
    """Now, but never before the row being superseded (the clock may have stepped back)."""
    now = time.time()
    if previous is not None and now <= previous["created_at"]:
        return float(previous["created_at"]) + 1e-6
    return now


def _marks(items: Sequence[object]) -> str:
    return ", ".join("?" for _ in items)
