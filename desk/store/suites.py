"""Suites (versioned sets of cases) and suite runs: which trial answers which case and sample.

A suite run is a row of `runs` (kind 'suite'). Each (case, sample) it sends is one
ordinary trial, linked in `suite_run_trials`; every model's answer to it is an ordinary
response of that trial (tagged with the run's id), so everything that works on trials
works on a run. A cell of a run is (case, sample, model); it is *done* when it has an
answer with status ok.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar, cast

from desk.core.attachment import Attachment
from desk.core.first_line import first_line, first_line_of_start
from desk.core.gil_slices import counted, mapped, zipped_dict
from desk.core.host import HOST
from desk.core.ids import new_id
from desk.core.letting_go import let_go
from desk.core.rating import Rating
from desk.core.response import ResponseResult, Status
from desk.core.suite import BUILTIN_SUITES, Case, Constraint, Suite
from desk.core.tool_expect import read_expected_call
from desk.core.tools import ToolCall, ToolSet, calls_from_json, read_tools
from desk.store import ratings, responses, trials
from desk.store.connection import Database
from desk.store.errors import StoreError
from desk.store.rubrics import RubricTable
from desk.store.sql import Row, fetch_all, one, rows, transaction

SUITE_RUN = "suite"  # runs.kind of a suite run
# Suite versions read back, by (store id, suite id), for every connection of this process
# (a big run is read back on a worker's fresh connection each time): the last few, as a
# suite's attachments may be megabytes.
_SUITES: OrderedDict[tuple[str, str], Suite] = OrderedDict()
_SUITES_KEPT = 4
_SUITES_LOCK = threading.Lock()


@dataclass(frozen=True)
class SuiteInfo:
    """One stored suite version, without its cases."""

    id: str
    name: str
    version: int
    created_at: float
    cases: int
    source: str = ""
    sha256: str | None = None

    @property
    def builtin(self) -> bool:
        """Whether this is a suite that ships with desk (imported from its bundled file)."""
        return self.name in BUILTIN_SUITES


@dataclass(frozen=True)
class SuiteRunRow:
    """A stored suite run with its counts.

    `state` is what the run is now: ``running`` (its writer is alive, or on another
    machine), ``interrupted`` (cancelled, or its writer died) or ``done``. `done` counts
    the cells with an ok answer, `total` = cases x repeat x models, `failed` the cells
    whose latest answer is an error and that have no ok one (interrupted ones are not
    counted as failed: they were cut off, not refused).
    """

    id: str
    name: str | None
    created_at: float
    finished_at: float | None
    status: str
    state: str
    spec: dict[str, Any]
    summary: dict[str, Any] | None
    done: int
    total: int
    failed: int
    writer_pid: int | None
    writer_host: str | None


@dataclass(frozen=True)
class RunCell:
    """One response of a suite run, located: its case, sample and trial."""

    case_id: str
    sample: int
    trial_id: str
    response: ResponseResult


# Cell by cell, each cell's answers oldest first: the order of the run's trials and of
# idx_responses_cells, so SQLite sorts no more than each trial's few answers.
_CASE_COLUMNS = ("id, position, case_ref, prompt, system, expect, tags_json, notes, constraints_json, source, "
                 "upstream_id, tools_json, tool_results_json, expected_call_json, clarification")
_CELL_ORDER = "ORDER BY t.case_id, t.sample, r.model, r.created_at, r.rowid"
_TEXT_START = 300  # characters of a text read for its first line (its length would count them all)


# (case_id, sample, model, status, response_id, ...): a cell_statuses row, or a CellFigures.
CellStatus = tuple[Any, ...]
CellKey = tuple[str, int, str]  # (case id, sample, model)
C = TypeVar("C", bound=CellStatus)
_KEY, _STATUS = itemgetter(0, 1, 2), itemgetter(3)
_FIGURES = "r.error_kind, r.ttft_ms, r.total_ms, r.cost_usd, r.served_model, r.system_fingerprint"  # CellFigures' last six


class CellFigures(NamedTuple):
    """One response of a suite run, located, with the figures a run's matrix and rating
    queue show: no text, no attempts (a run of 100,000 answers is read in a blink)."""

    case_id: str
    sample: int
    model: str
    status: str
    response_id: str
    error_kind: str | None
    ttft_ms: float | None
    total_ms: float | None
    cost_usd: float | None
    served_model: str | None
    system_fingerprint: str | None


_FIGURE_FIELDS = itemgetter(*range(len(CellFigures._fields)))
_RESPONSE_ID, _START = itemgetter(4), itemgetter(len(CellFigures._fields))  # of cell_lines' rows


class SuiteTable:
    """Suites and suite runs (`store.suites`): the SQL of both, on the store's connection."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # run id -> (answers_version, its cell_counts then): a run's cells counted again only
        # when an answer or a run's link to a trial was written since (m020).
        self._counts: dict[str, tuple[int, tuple[int, int]]] = {}
        self._store_id: str | None = None

    # --- suites -----------------------------------------------------------------------------

    def save_suite(self, suite: Suite, *, sha256: str | None = None, stable_ids: bool = False) -> Suite:
        """Store `suite` as the next version of its name, cases and attachments in one
        transaction; return it with ids, version and time set.

        With `stable_ids` (the bundled suite) the ids derive from `sha256`, so two stores that
        imported the same file hold the same rows and merge without duplicates.
        """
        if stable_ids and not sha256:
            raise StoreError("stable ids need the file's sha256")
        for case in suite.cases:
            trials.check_attachments(case.attachments)
        suite_id = f"suite-{sha256[:26]}" if stable_ids and sha256 else new_id()
        now = time.time()
        with transaction(self.db):
            newest = self.db.conn.execute("SELECT max(version) FROM suites WHERE name = ?", (suite.name,)).fetchone()[0]
            version = (newest or 0) + 1
            self.db.execute(
                "INSERT INTO suites (id, name, version, created_at, source, sha256) VALUES (?, ?, ?, ?, ?, ?)",
                (suite_id, suite.name, version, now, suite.source, sha256),
            )
            stored: list[Case] = []
            for position, case in enumerate(suite.cases):
                case_id = f"{suite_id}-{position:05d}" if stable_ids else new_id()
                self.db.execute(
                    "INSERT INTO suite_cases (id, suite_id, position, case_ref, prompt, system, expect, tags_json, "
                    "notes, constraints_json, source, upstream_id, tools_json, tool_results_json, "
                    "expected_call_json, clarification) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (case_id, suite_id, position, case.key, case.prompt, case.system, case.expect,
                     json.dumps(list(case.tags), ensure_ascii=False), case.notes,
                     json.dumps([c.as_json() for c in case.constraints], ensure_ascii=False),
                     case.source, case.upstream_id, *_tool_use_columns(case), case.clarification),
                )
                trials.insert_attachments(self.db, "suite_case_attachments", "case_id", case_id, case.attachments, now)
                stored.append(dataclasses.replace(case, id=case_id, position=position))
        return dataclasses.replace(suite, cases=tuple(stored), version=version, id=suite_id, created_at=now)

    def list_suites(self, name: str | None = None, *, all_versions: bool = False) -> list[SuiteInfo]:
        """Stored suites by name; only each name's newest version unless `all_versions`."""
        where, params = ("WHERE s.name = ?", [name]) if name is not None else ("", [])
        found = rows(
            self.db,
            "SELECT s.*, (SELECT count(*) FROM suite_cases c WHERE c.suite_id = s.id) AS n_cases "
            f"FROM suites s {where} ORDER BY s.name, s.version",
            params,
        )
        if not all_versions:
            newest: dict[str, Row] = {}
            for r in found:
                newest[r["name"]] = r
            found = list(newest.values())
        return [self._suite_info(r) for r in found]

    def get_suite(self, name: str, version: int | None = None) -> Suite | None:
        """A suite version with its cases (the newest version when `version` is None)."""
        if version is None:
            row = one(self.db, "SELECT * FROM suites WHERE name = ? ORDER BY version DESC LIMIT 1", (name,))
        else:
            row = one(self.db, "SELECT * FROM suites WHERE name = ? AND version = ?", (name, version))
        return self._suite(row) if row else None

    def get_suite_by_id(self, suite_id: str) -> Suite | None:
        """The stored suite version `suite_id`: read once per process, as a version's cases
        never change once stored (a big run's every read back needs its suite: 16,667 cases
        took 0.1-0.2 s to read each time)."""
        key = (self._identity(), suite_id)
        with _SUITES_LOCK:
            kept = _SUITES.get(key)
            if kept is not None:
                _SUITES.move_to_end(key)
                return kept
        row = one(self.db, "SELECT * FROM suites WHERE id = ?", (suite_id,))
        if row is None:
            return None
        suite = self._suite(row)
        with _SUITES_LOCK:
            _SUITES[key] = suite
            while len(_SUITES) > _SUITES_KEPT:
                _SUITES.popitem(last=False)
        return suite

    def _identity(self) -> str:
        """This store's own id (store_identity): suites kept in memory are this store's."""
        if self._store_id is None:
            found = self.db.conn.execute("SELECT id FROM store_identity LIMIT 1").fetchone()
            self._store_id = str(found[0]) if found else f"unnamed:{id(self)}"
        return self._store_id

    def find_suite_file(self, name: str, sha256: str) -> SuiteInfo | None:
        """The version of `name` imported from a file with this hash, if any."""
        row = one(
            self.db,
            "SELECT s.*, (SELECT count(*) FROM suite_cases c WHERE c.suite_id = s.id) AS n_cases "
            "FROM suites s WHERE s.name = ? AND s.sha256 = ? ORDER BY s.version DESC LIMIT 1",
            (name, sha256),
        )
        return self._suite_info(row) if row else None

    def _suite(self, row: Row) -> Suite:
        # Tuples in the columns' order, not a dict per case: 16,667 cases made 0.17 s, 0.04 s of it dicts.
        found = fetch_all(self.db.conn.execute(
            f"SELECT {_CASE_COLUMNS} FROM suite_cases WHERE suite_id = ? ORDER BY position", (row["id"],)))
        attachments = self._case_attachments(row["id"]) if found else {}
        tool_sets: dict[str, ToolSet] = {}  # cases often offer the same tools: each set read (and checked) once

        def tools_of(text: str) -> ToolSet:
            if text not in tool_sets:
                tool_sets[text] = read_tools(text)  # its schemas checked: 0.5 ms a set
            return tool_sets[text]

        cases = tuple(
            Case(
                key=key, prompt=prompt, system=system, expect=expect, tags=tuple(_json(tags, ())), notes=notes,
                attachments=tuple(attachments.get(case_id, ())),
                constraints=tuple(Constraint(c["id"], c.get("kwargs") or {}) for c in _json(constraints, ())),
                source=source, upstream_id=upstream_id, id=case_id, position=position,
                tools=tools_of(tools) if tools else None, tool_results=tuple(_json(results, ())),
                expected_call=read_expected_call(_json(expected, None)), clarification=clarification,
            )
            for (case_id, position, key, prompt, system, expect, tags, notes, constraints, source, upstream_id,
                 tools, results, expected, clarification) in found
        )
        return Suite(name=row["name"], cases=cases, version=row["version"], id=row["id"],
                     created_at=row["created_at"], source=row["source"])

    def _case_attachments(self, suite_id: str) -> dict[str, list[Attachment]]:
        """The attachments of a suite version's cases, by case id, each case's in order:
        one query for the suite (most suites have none: nothing comes back)."""
        out: dict[str, list[Attachment]] = {}
        for r in rows(
            self.db,
            "SELECT a.*, b.data FROM suite_case_attachments a JOIN blobs b ON b.sha256 = a.sha256 "
            "WHERE a.case_id IN (SELECT id FROM suite_cases WHERE suite_id = ?) ORDER BY a.case_id, a.position",
            (suite_id,),
        ):
            out.setdefault(r["case_id"], []).append(trials._attachment(r))
        return out

    @staticmethod
    def _suite_info(r: Row) -> SuiteInfo:
        return SuiteInfo(id=r["id"], name=r["name"], version=r["version"], created_at=r["created_at"],
                         cases=r["n_cases"], source=r["source"], sha256=r["sha256"])

    # --- suite runs ---------------------------------------------------------------------------

    def cell_trial(self, run_id: str, case: Case, sample: int) -> str:
        """The trial of (case, sample) in the run, created (with its link) on first use."""
        if case.id is None:
            raise StoreError("the case is not stored")
        found = one(self.db, "SELECT trial_id FROM suite_run_trials WHERE run_id = ? AND case_id = ? AND sample = ?",
                    (run_id, case.id, sample))
        if found:
            return str(found["trial_id"])
        with transaction(self.db):
            trial_id = trials.TrialTable(self.db).create(case.trial_input())
            self.db.execute("INSERT INTO suite_run_trials (run_id, case_id, sample, trial_id) VALUES (?, ?, ?, ?)",
                       (run_id, case.id, sample, trial_id))
        return trial_id

    def link_response(self, response_id: str, run_id: str, seq: int) -> None:
        """Tag a response with its run (and the cell's number in it)."""
        if not self.db.execute("UPDATE responses SET run_id = ?, run_seq = ? WHERE id = ?",
                          (run_id, seq, response_id)).rowcount:
            raise StoreError(f"no response {response_id}")

    def run_trials(self, run_id: str) -> list[tuple[str, int, str]]:
        """(case_id, sample, trial_id) of every (case, sample) the run has sent so far."""
        return fetch_all(self.db.conn.execute(
            "SELECT case_id, sample, trial_id FROM suite_run_trials WHERE run_id = ? ORDER BY rowid", (run_id,)))

    def run_cells(self, run_id: str) -> list[RunCell]:
        """Every response of the run with its case and sample, in the order they were stored."""
        found = rows(
            self.db,
            "SELECT t.case_id, t.sample, t.trial_id, r.id FROM suite_run_trials t "
            "JOIN responses r ON r.trial_id = t.trial_id WHERE t.run_id = ? ORDER BY r.created_at, r.rowid",
            (run_id,),
        )
        by_id = responses.responses_by_ids(self.db, [r["id"] for r in found])
        return [RunCell(r["case_id"], r["sample"], r["trial_id"], by_id[r["id"]]) for r in found if r["id"] in by_id]

    def cell_figures(self, run_id: str) -> list[CellFigures]:
        """`run_cells` without the answers' texts and attempts: each response's figures, cell
        by cell (by case, sample and model), each cell's answers oldest first; all read from
        an index (m019), in its order."""
        found = self._cells(run_id, _FIGURES)
        made = cast("list[CellFigures]", mapped(tuple.__new__, repeat(CellFigures), found))  # gil_slices
        let_go(found)
        return made

    def _cells(self, run_id: str, more: str = "", params: tuple[Any, ...] = ()) -> list[Any]:
        """(case_id, sample, model, status, response_id, *`more` columns) of every response of
        the run, cell by cell, each cell's answers oldest first (_CELL_ORDER), all from
        idx_responses_cells: no answer's row is read. `params` are `more`'s parameters."""
        return fetch_all(self.db.conn.execute(
            f"SELECT t.case_id, t.sample, r.model, r.status, r.id{', ' + more if more else ''} "
            "FROM suite_run_trials t JOIN responses r INDEXED BY idx_responses_cells ON r.trial_id = t.trial_id "
            f"WHERE t.run_id = ? {_CELL_ORDER}", (*params, run_id)))

    def cell_lines(self, run_id: str) -> tuple[list[CellFigures], dict[str, str]]:
        """`cell_figures`, and each response's first line of text (desk.core.first_line) by
        id, in one pass over the run's answers: read from the start of its text, a text whose
        start does not settle it read whole."""
        found = self._cells(run_id, f"{_FIGURES}, substr(r.text, 1, {_TEXT_START + 1})")
        # (Made a slice at a time, and let go of so: desk.core.gil_slices, desk.core.letting_go.)
        figures = cast("list[CellFigures]", mapped(tuple.__new__, repeat(CellFigures), map(_FIGURE_FIELDS, found)))
        # A start of _TEXT_START characters or fewer is the whole text.
        lines: dict[str, str | None] = zipped_dict(
            map(_RESPONSE_ID, found), [first_line_of_start(start, whole=len(start) <= _TEXT_START)
                                       for start in map(_START, found)])
        let_go(found)
        unsettled = [rid for rid, line in lines.items() if line is None]
        if unsettled:
            lines.update(dict.fromkeys(unsettled, ""))  # (an answer deleted since has no text)
            lines.update((rid, first_line(text)) for rid, text in self.db.conn.execute(
                "SELECT id, text FROM responses WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(unsettled),)))
        return figures, cast("dict[str, str]", lines)  # none is None now

    def cell_statuses(self, run_id: str) -> list[tuple[str, int, str, str, str]]:
        """(case_id, sample, model, status, response_id) of every response of the run, as
        cell_figures orders them (each cell's answers oldest first): its first five fields."""
        return self._cells(run_id)

    def rater_cells(self, run_id: str, rater: str) -> list[tuple[str, int, str, str, str, int]]:
        """cell_statuses with 1 when `rater` has rated the answer, else 0: any rating row of
        theirs is a current one (an edit supersedes, nothing deletes). Probed per answer in
        SQL, it costs a rating queue of 100,000 answers 0.05 s; their ids sent as a list and
        read back as a set cost 0.12 s."""
        return self._cells(run_id, "EXISTS (SELECT 1 FROM ratings g WHERE g.response_id = r.id AND g.rater = ?)",
                           (rater,))

    def cell_times(self, run_id: str) -> list[tuple[str, int, str, str, str, float, int]]:
        """cell_statuses with when each response was stored: (..., created_at, rowid), the
        order run_cells gives them in (read from the same index, no answer's row)."""
        return self._cells(run_id, "r.created_at, r.rowid")

    def tool_calls(self, response_ids: Sequence[str]) -> dict[str, list[ToolCall]]:
        """The tool calls each of these responses made (those that exist), by id: no text,
        no attempt read."""
        found = fetch_all(self.db.conn.execute(
            "SELECT id, tool_calls_json FROM responses WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(response_ids)),)))
        return {rid: calls_from_json(calls) for rid, calls in found}

    def trials_and_models(self, response_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """(trial id, model) of each of these responses (those that exist), by id."""
        found = fetch_all(self.db.conn.execute(
            "SELECT id, trial_id, model FROM responses WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(response_ids)),)))
        return {rid: (trial_id, model) for rid, trial_id, model in found}

    def suite_runs(self, limit: int = 200, run_id: str | None = None,
                   active: Iterable[str] = (), counts: tuple[int, int] | None = None) -> list[SuiteRunRow]:
        """Suite runs, newest first, with their state and counts. `active` names runs this
        process is sending now (a 'running' run of this process that is not among them was
        left behind by a task that died). `counts`: `run_id`'s cell_counts, worked out already by
        the caller from the cells it read (a run's matrix, its rating queue): not read again."""
        where, params = ("AND id = ?", [run_id]) if run_id else ("", [])
        found = rows(self.db, f"SELECT * FROM runs WHERE kind = ? {where} ORDER BY created_at DESC, id DESC LIMIT ?",
                     [SUITE_RUN, *params, limit])
        live = set(active)
        version = self._answers_version() if counts is None else 0
        out = []
        for r in found:
            spec = json.loads(r["spec_json"])
            done, failed = self._counted(r["id"], version) if counts is None else counts
            out.append(SuiteRunRow(
                id=r["id"], name=r["name"], created_at=r["created_at"], finished_at=r["finished_at"],
                status=r["status"], state=self._state(r, live), spec=spec,
                summary=json.loads(r["summary_json"]) if r["summary_json"] else None,
                done=done, total=int(spec.get("total", 0)), failed=failed,
                writer_pid=r["writer_pid"], writer_host=r["writer_host"],
            ))
        return out

    def reading_version(self) -> tuple[str, str, int, int, int]:
        """What reading a run back depends on, as one value that changes whenever any of it may
        have: this store (its id and file), every write to an answer, a rating or a run
        (store_version), to a run's links to its trials (answers_version), and the turn links
        (the newest's rowid: a link is added with its answer and deleted only with it)."""
        found = self.db.conn.execute(
            "SELECT (SELECT n FROM store_version WHERE id = 1), (SELECT n FROM answers_version WHERE id = 1), "
            "(SELECT coalesce(max(rowid), 0) FROM turns), (SELECT file FROM pragma_database_list WHERE name = 'main')"
        ).fetchone()
        return self._identity(), str(found[3]), int(found[0]), int(found[1]), int(found[2])

    def _answers_version(self) -> int:
        return int(self.db.conn.execute("SELECT n FROM answers_version WHERE id = 1").fetchone()[0])

    def _counted(self, run_id: str, version: int) -> tuple[int, int]:
        """cell_counts of a run as of answers `version`: those counted at that version (kept
        here, or in the store by an earlier listing, this process's or another's), or counted
        now and kept in both."""
        known = self._counts.get(run_id)
        if known is not None and known[0] == version:
            return known[1]
        conn = self.db.conn
        stored = conn.execute("SELECT done, failed FROM run_counts WHERE run_id = ? AND version = ?",
                              (run_id, version)).fetchone()
        counts = (int(stored[0]), int(stored[1])) if stored else self._count(run_id)
        if conn.in_transaction:  # what a transaction wrote may yet be rolled back
            return counts
        self._counts[run_id] = (version, counts)
        if not stored:
            self._keep_counts(run_id, version, counts)
        return counts

    def _keep_counts(self, run_id: str, version: int, counts: tuple[int, int]) -> None:
        """Store a run's counts for the next listing, if that needs no wait: a listing on
        the window's GUI thread must not queue behind another process's write. A store
        opened read-only, or busy, has them counted again next time."""
        conn = self.db.conn
        (patience,) = conn.execute("PRAGMA busy_timeout").fetchone()
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute("INSERT OR REPLACE INTO run_counts (run_id, version, done, failed) VALUES (?, ?, ?, ?)",
                         (run_id, version, *counts))
        except sqlite3.OperationalError:
            pass
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(patience)}")

    def _count(self, run_id: str) -> tuple[int, int]:
        """cell_counts of a run, counted by SQLite from idx_responses_cells (a run of 100,000
        answers listed in 0.09 s, not 0.25 s with its rows read): each cell's latest status is
        its latest answer's, unless two of a cell's answers share their time (never written so
        by one desk; a merge could): then the rows are read and counted as cell_counts does."""
        done, failed, ties = self.db.conn.execute(
            "SELECT count(*) FILTER (WHERE oks > 0), count(*) FILTER (WHERE oks = 0 AND latest = ?), "
            "coalesce(sum(ties), 0) FROM ("
            # One max() aggregate: the bare column `latest` is the status of the row it found.
            " SELECT sum(r.status = ?) AS oks, max(r.created_at), r.status AS latest,"
            " count(*) - count(DISTINCT r.created_at) AS ties"
            " FROM suite_run_trials t JOIN responses r INDEXED BY idx_responses_cells ON r.trial_id = t.trial_id"
            " WHERE t.run_id = ? GROUP BY t.trial_id, r.model)",
            (Status.ERROR.value, Status.OK.value, run_id)).fetchone()
        if ties:
            return cell_counts(counted_cells(self.cell_statuses(run_id))[0])
        return int(done), int(failed)

    @staticmethod
    def _state(r: Row, active: set[str]) -> str:
        status = r["status"]
        if status == "done":
            return "done"
        if status != "running":
            return "interrupted"  # cancelled, or marked interrupted when its writer was found dead
        if r["writer_host"] != HOST:
            return "running"  # another machine's: cannot be checked
        pid = r["writer_pid"]
        if pid is None or not responses.pid_alive(pid):
            return "interrupted"
        if pid == os.getpid() and r["id"] not in active:
            return "interrupted"
        return "running"

    def claim_run(self, run_id: str) -> None:
        """Mark a run running again, written by this process (before it is resumed)."""
        if not self.db.execute(
            "UPDATE runs SET status = 'running', finished_at = NULL, writer_pid = ?, writer_host = ? "
            "WHERE id = ? AND kind = ?",
            (os.getpid(), HOST, run_id, SUITE_RUN),
        ).rowcount:
            raise StoreError(f"no suite run {run_id}")

    # --- automatic ratings --------------------------------------------------------------------

    def save_partial_rating(self, response_id: str, rater: str, values: dict[str, Any],
                            beside: Mapping[str, Any] | None = None) -> Rating:
        """Store a rating that judges only some criteria (an automatic check's verdict), under
        the newest default rubric. The values given are checked like any rating's; criteria
        left out are simply not judged; `beside` holds values outside the rubric that the check
        keeps with its verdict (desk's reading of the constraints). It supersedes the rater's
        earlier rating of the response."""
        rubric = RubricTable(self.db).default()
        loose = dataclasses.replace(rubric, criteria=tuple(dataclasses.replace(c, required=False)
                                                           for c in rubric.criteria))
        clean = ratings.clean_values(loose, values)
        clash = set(beside or {}) & {c.key for c in rubric.criteria}
        if clash:
            raise StoreError(f"rating not saved: {', '.join(sorted(clash))} is a rubric criterion")
        clean.update(beside or {})
        with transaction(self.db):
            if one(self.db, "SELECT 1 AS x FROM responses WHERE id = ?", (response_id,)) is None:
                raise StoreError(f"no response {response_id}")
            previous = one(
                self.db,
                f"SELECT id, created_at FROM ratings r WHERE response_id = ? AND rater = ? AND {ratings._LOCAL} AND "
                f"{ratings._NOT_SUPERSEDED.format(table='ratings')} ORDER BY created_at DESC, id DESC LIMIT 1",
                (response_id, rater),
            )
            rating = Rating(id=new_id(), response_id=response_id, rater=rater, rubric_id=rubric.id or "",
                            created_at=ratings._after(previous), values=clean,
                            supersedes=previous["id"] if previous else None)
            ratings._insert_rating(self.db, rating)
        return rating

    def answers(self, response_ids: Sequence[str]) -> dict[str, ResponseResult]:
        """The stored answers with these ids (those that exist), by id."""
        return responses.responses_by_ids(self.db, response_ids)


def _tool_use_columns(case: Case) -> tuple[str | None, str | None, str | None]:
    """A case's tools, canned results and expected call as their columns (NULL: none)."""
    return (case.tools.as_json() if case.tools else None,
            json.dumps(list(case.tool_results), ensure_ascii=False) if case.tool_results else None,
            json.dumps(case.expected_call.as_json(), ensure_ascii=False) if case.expected_call else None)


def counted_cells(cells: Sequence[C]) -> tuple[dict[CellKey, C], Counter[CellKey]]:
    """Each cell's answer that counts (the latest ok one, else the latest: the one a run's
    matrix shows) and how many answers the cell has, from a run's cell_statuses or
    cell_figures (each cell's answers oldest first)."""
    keys = mapped(_KEY, cells)  # (made a slice at a time: desk.core.gil_slices)
    # Later entries win in a dict built in order: the latest answer, the latest ok one over it.
    latest = zipped_dict(keys, cells)
    if len(latest) < len(keys):  # a cell answered more than once: its latest ok answer counts
        oks = mapped(Status.OK.value.__eq__, map(_STATUS, cells))
        latest.update(zipped_dict(compress(keys, oks), compress(cells, oks)))
    return latest, counted(keys)


def cell_counts(counted: Mapping[CellKey, CellStatus]) -> tuple[int, int]:
    """(cells with an ok answer, cells whose latest answer failed and none is ok), from each
    cell's answer that counts (counted_cells): an ok one when the cell has one, else its latest."""
    statuses = list(map(_STATUS, counted.values()))
    return statuses.count(Status.OK.value), statuses.count(Status.ERROR.value)


def _json(text: str | None, empty: Any) -> Any:
    """Parsed JSON; most cases hold an empty list or none, which need no parser (16,000
    cases' four columns: a fifth of reading a big suite)."""
    return empty if not text or text in ("[]", "null") else json.loads(text)
