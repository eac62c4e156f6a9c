"""Suites: named, versioned sets of real tasks, each with the behaviour a good answer shows.

A case is a prompt (with an optional system prompt and attachments) plus `expect`, what a
good answer does:

- ``clarify``: the task is underspecified, so a good answer asks;
- ``abstain``: it is unanswerable or rests on a false premise, so a good answer says so;
- ``answer``: it is answerable, so a good answer just answers (no needless question or
  refusal);
- ``follow_constraints``: it carries hard output constraints, which a good answer keeps;
- ``""``: no particular behaviour.

Which rating shows the expected behaviour ("handled") is `HANDLED`: the scorecard's
per-behaviour figures are built on it.

Files: CSV (a header row; the delimiter is whichever of ``, ; TAB |`` makes a ``prompt``
column) or JSON Lines (one object per line). ``prompt`` is required; ``id``, ``system``,
``expect``, ``tags`` (``;``-separated in CSV; a list or a ``;``-separated string in JSONL),
``attachments`` (paths relative to the file, the same way), ``notes`` (for the rater, never
sent), ``constraints`` (a list of ``{"id", "kwargs"}``; in CSV as JSON text; IFBench's
``instruction_id_list`` + ``kwargs`` lists are read too), ``source`` and ``upstream_id`` are
optional, and so is tool use (desk.core.tools, desk.core.tool_expect): ``tools`` (tool
definitions, OpenAI's function format), ``tool_choice``, ``tool_results`` (canned results,
one per expected call) and ``expected_call``; in CSV each as JSON text. Other columns are
ignored. Every bad row is collected with its line number and
reason; if there is any, one SuiteError lists them and nothing is read.

An attachment must resolve (symlinks followed) inside the file's folder or a path the user
allowed explicitly: a suite someone sent must not reach /etc/passwd or ~/.ssh.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desk.core.attachment import Attachment, AttachmentError, load_attachment
from desk.core.dataset import UnterminatedQuote, csv_records, jsonl_objects, prompt_delimiter, read_rows_file
from desk.core.tool_expect import ExpectedCall, read_expected_call
from desk.core.tools import ToolsError, ToolSet, read_tools
from desk.core.trial import TrialInput, prompt_size_problem

EXPECT_KINDS = ("clarify", "abstain", "answer", "follow_constraints")
EXPECTS = ("", *EXPECT_KINDS)

# expect kind -> (rating criterion, the values of it that show the expected behaviour)
HANDLED: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "clarify": ("uncertainty", ("asked_clarifying",)),
    "abstain": ("uncertainty", ("stated_uncertainty",)),
    "answer": ("uncertainty", ("confident_correct", "partial_with_caveats")),
    "follow_constraints": ("constraints", ("followed",)),
}

AUTO_RATER = "auto"  # the rater name automatic constraint checks store their verdicts under
BUILTIN_SUITES = ("starter",)  # names a user's import cannot take
MAX_NAME_CHARS = 100
MAX_ERRORS_SHOWN = 20


class SuiteError(ValueError):
    """A suite file or name that cannot be used; one line naming the file, the lines and why.

    `outside` lists the attachment files refused for lying outside the suite's folder (so
    a caller can ask the user whether to allow them and import again)."""

    outside: tuple[str, ...] = ()


@dataclass(frozen=True)
class Constraint:
    """One machine-checkable output constraint, IFBench style: an instruction id
    (e.g. ``count:keywords_multiple``) and its parameters."""

    id: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "kwargs": dict(self.kwargs)}


@dataclass(frozen=True)
class Case:
    """One task of a suite.

    `key` is the user's id for it (unique within the suite; the row number when the file
    gives none). `notes` are for the rater and never sent to a model. `id` is the stored
    case's own id (a ULID), set once stored; `position` its place in the suite.
    """

    key: str
    prompt: str
    system: str | None = None
    expect: str = ""
    tags: tuple[str, ...] = ()
    notes: str = ""
    attachments: tuple[Attachment, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    source: str = ""
    upstream_id: str = ""
    id: str | None = None
    position: int = 0
    # What a person would answer if the model asks a clarifying question: a suite run sends
    # it as the next turn when the answer asks one (desk.core.conversation.asks_question).
    clarification: str = ""
    tools: ToolSet | None = None
    tool_results: tuple[str, ...] = ()  # canned results for the calls, in order
    expected_call: ExpectedCall | None = None

    def trial_input(self) -> TrialInput:
        """What is sent to each model: prompt, system prompt, attachments and tools (never
        the notes, the canned results or the expected call)."""
        tools = self.tools
        if tools is not None and self.tool_results:  # the trial carries them, for Give results
            tools = dataclasses.replace(tools, canned=self.tool_results)
        return TrialInput(self.prompt, self.system, self.attachments, tools)

    def as_json(self) -> dict[str, Any]:
        """The case as a JSONL line of an exported suite (attachments are added by the exporter)."""
        out: dict[str, Any] = {"id": self.key, "prompt": self.prompt, "expect": self.expect,
                               "tags": list(self.tags)}
        if self.system:
            out["system"] = self.system
        if self.notes:
            out["notes"] = self.notes
        if self.constraints:
            out["constraints"] = [c.as_json() for c in self.constraints]
        if self.source:
            out["source"] = self.source
        if self.upstream_id:
            out["upstream_id"] = self.upstream_id
        if self.clarification:
            out["clarification"] = self.clarification
        if self.tools is not None:
            out.update(json.loads(self.tools.as_json()))  # "tools" and "tool_choice"
        if self.tool_results:
            out["tool_results"] = list(self.tool_results)
        if self.expected_call is not None:
            out["expected_call"] = self.expected_call.as_json()
        return out


@dataclass(frozen=True)
class Suite:
    """A named, versioned set of cases. Re-importing a name makes its next version; the
    old one is kept. `id`, `version` and `created_at` are set once stored."""

    name: str
    cases: tuple[Case, ...]
    version: int = 0
    id: str | None = None
    created_at: float | None = None
    source: str = ""  # the file it was read from, for the record

    def case(self, key: str) -> Case:
        for c in self.cases:
            if c.key == key:
                return c
        raise KeyError(key)


def handled(expect: str, values: Mapping[str, Any]) -> bool | None:
    """Whether rating values show the behaviour `expect` asks for; None when the case expects
    nothing in particular or the rating does not judge the criterion it needs."""
    rule = HANDLED.get(expect)
    if rule is None:
        return None
    criterion, good = rule
    value = values.get(criterion)
    if value in (None, ""):
        return None
    return value in good


def check_name(name: str, *, builtin_ok: bool = False) -> str:
    """The suite name, tidied, or SuiteError saying why it cannot be used."""
    clean = " ".join((name or "").split())
    if not clean:
        raise SuiteError("a suite needs a name")
    if len(clean) > MAX_NAME_CHARS:
        raise SuiteError(f"the suite name is longer than {MAX_NAME_CHARS} characters")
    if clean in BUILTIN_SUITES and not builtin_ok:
        raise SuiteError(f"{clean!r} is the name of the built-in suite; choose another name")
    return clean


def load_suite_file(path: str | Path, *, allow_outside: Sequence[str | Path] = ()) -> tuple[Case, ...]:
    """Read every case of a CSV or JSONL suite file, in file order, or raise SuiteError.

    Attachments must lie inside the file's folder, or inside (or be) one of `allow_outside`."""
    p = Path(path)
    text, jsonl = read_rows_file(p, SuiteError)
    base = p.resolve().parent
    if jsonl:
        cases = cases_from_jsonl(text, p.name, base, allow_outside)
    else:
        cases = cases_from_csv(text, p.name, base, allow_outside)
    if not cases:
        raise SuiteError(f"{p.name}: no cases in the file")
    return cases


class _Rows:
    """Collects the cases and the problems of a file, line by line."""

    def __init__(self, name: str, base: Path | None, allow_outside: Sequence[str | Path] = ()) -> None:
        self.name = name
        self.base = base
        # Where attachments may come from, symlinks resolved: the file's folder and what the user allowed.
        self.allowed = [Path(a).resolve() for a in ([base] if base is not None else []) + list(allow_outside)]
        self.outside: list[str] = []
        self.cases: list[Case] = []
        self.errors: list[str] = []
        self.keys: dict[str, int] = {}

    def bad(self, line: int, reason: str) -> None:
        self.errors.append(f"line {line}: {reason}")

    def add(self, line: int, record: Mapping[str, Any]) -> None:
        problems: list[str] = []
        prompt = record.get("prompt")
        if prompt is None:
            problems.append("no 'prompt'")
        elif not isinstance(prompt, str):
            problems.append("'prompt' is not text")
        elif not prompt.strip():
            problems.append("the prompt is empty")
        key = _text(record, "id", problems)
        if not key:
            key = str(len(self.cases) + len(self.errors) + 1)
        elif key in self.keys:
            problems.append(f"id {key!r} is used twice (first on line {self.keys[key]})")
        system = _text(record, "system", problems)
        expect = _text(record, "expect", problems).lower()
        if expect not in EXPECTS:
            problems.append(f"expect {expect!r} is not one of {', '.join(EXPECT_KINDS)} (or empty)")
        tags = _list(record, "tags", problems)
        notes = _text(record, "notes", problems, strip=False)
        source = _text(record, "source", problems)
        upstream = _text(record, "upstream_id", problems)
        clarification = _text(record, "clarification", problems)
        constraints = _constraints(record, problems)
        tools, results, expected = _tool_use(record, problems)
        attachments: list[Attachment] = []
        for item in _list(record, "attachments", problems):
            target = self._allowed_path(item, problems)
            if target is None:
                continue
            try:
                attachments.append(load_attachment(target))
            except AttachmentError as exc:
                problems.append(f"attachment {item!r}: {exc}")
        for text, what in ((prompt, "prompt"), (system, "system prompt"), (clarification, "clarification")):
            too_big = prompt_size_problem(text, what) if isinstance(text, str) else None
            if too_big:
                problems.append(too_big)
        if problems:
            self.bad(line, "; ".join(problems))
            return
        assert isinstance(prompt, str)
        self.keys[key] = line
        self.cases.append(Case(
            key=key, prompt=prompt, system=system or None, expect=expect, tags=tuple(tags),
            notes=notes, attachments=tuple(attachments), constraints=constraints, source=source,
            upstream_id=upstream, position=len(self.cases), clarification=clarification, tools=tools,
            tool_results=results, expected_call=expected,
        ))

    def _allowed_path(self, item: str, problems: list[str]) -> Path | None:
        """The attachment's real path (symlinks resolved) if it lies inside an allowed folder;
        else None, with the reason added to `problems`."""
        target = Path(item)
        if not target.is_absolute() and self.base is not None:
            target = self.base / target
        try:
            real = target.resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop, an unreadable folder
            problems.append(f"attachment {item!r}: cannot resolve the path ({exc})")
            return None
        if any(real.is_relative_to(root) for root in self.allowed):
            return real
        self.outside.append(str(real))
        where = f"the suite's folder {self.base}" if self.base is not None else "an allowed folder"
        problems.append(f"attachment {item!r} is {real}, outside {where}; allow it explicitly "
                        "(desk suite import --allow-outside PATH) if you mean it")
        return None

    def result(self) -> tuple[Case, ...]:
        if self.errors:
            shown = self.errors[:MAX_ERRORS_SHOWN]
            more = len(self.errors) - len(shown)
            tail = f"; and {more} more" if more else ""
            n = len(self.errors)
            error = SuiteError(f"{self.name}: {n} bad row{'s' if n != 1 else ''}, nothing imported: "
                               + "; ".join(shown) + tail)
            error.outside = tuple(dict.fromkeys(self.outside))
            raise error
        return tuple(self.cases)


def cases_from_jsonl(text: str, name: str = "suite", base: Path | None = None,
                     allow_outside: Sequence[str | Path] = ()) -> tuple[Case, ...]:
    rows = _Rows(name, base, allow_outside)
    for number, record, problem in jsonl_objects(text):
        if record is None:
            rows.bad(number, problem or "")
        else:
            rows.add(number, record)
    return rows.result()


def cases_from_csv(text: str, name: str = "suite", base: Path | None = None,
                   allow_outside: Sequence[str | Path] = ()) -> tuple[Case, ...]:
    text = text.lstrip("\ufeff")
    header = text.split("\n", 1)[0].rstrip("\r")
    if not header.strip():
        raise SuiteError(f"{name}: 1 bad row, nothing imported: line 1: the header row is empty "
                         "(it needs a 'prompt' column)")
    delimiter = prompt_delimiter(header)
    if delimiter is None:
        raise SuiteError(f"{name}: 1 bad row, nothing imported: line 1: no 'prompt' column in the header "
                         f"({header[:80]!r})")
    rows = _Rows(name, base, allow_outside)
    reader = csv_records(text, delimiter)
    line = 1
    try:
        columns = [c.strip().lower() for c in next(reader)[1]]
        for line, row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(columns):
                rows.bad(line, f"{len(row)} cells but the header has {len(columns)} columns")
                continue
            record: dict[str, Any] = {col: cell for col, cell in zip(columns, row, strict=False) if col}
            if "constraints" in record:
                raw = record["constraints"].strip()
                if raw:
                    try:
                        record["constraints"] = json.loads(raw)
                    except json.JSONDecodeError as exc:
                        rows.bad(line, f"'constraints' is not valid JSON ({exc.msg})")
                        continue
                else:
                    record["constraints"] = None
            rows.add(line, record)
    except UnterminatedQuote as exc:
        rows.bad(exc.line, str(exc))
    except csv.Error as exc:
        rows.bad(line, f"not valid CSV ({exc})")
    return rows.result()


def case_from_trial(key: str, trial: TrialInput, *, upstream_id: str = "", expect: str = "") -> Case:
    """A case holding exactly what a past trial sent (its prompt, system prompt and files)."""
    return Case(key=key, prompt=trial.prompt, system=trial.system, expect=expect,
                attachments=trial.attachments, source="trial" if upstream_id else "", upstream_id=upstream_id)


def _text(record: Mapping[str, Any], key: str, problems: list[str], *, strip: bool = True) -> str:
    value = record.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        problems.append(f"'{key}' is not text")
        return ""
    value = str(value)
    return value.strip() if strip else value


def _list(record: Mapping[str, Any], key: str, problems: list[str]) -> list[str]:
    value = record.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        items = value.split(";")
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = value
    else:
        problems.append(f"'{key}' must be a list of text or a ';'-separated text")
        return []
    return list(dict.fromkeys(v.strip() for v in items if v.strip()))


def _constraints(record: Mapping[str, Any], problems: list[str]) -> tuple[Constraint, ...]:
    value = record.get("constraints")
    if value is None and record.get("instruction_id_list") is not None:
        ids, kwargs = record.get("instruction_id_list"), record.get("kwargs")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            problems.append("'instruction_id_list' must be a list of text")
            return ()
        if kwargs is None:
            kwargs = [{} for _ in ids]
        if not isinstance(kwargs, list) or len(kwargs) != len(ids):
            problems.append("'kwargs' must be a list as long as 'instruction_id_list'")
            return ()
        value = [{"id": i, "kwargs": k} for i, k in zip(ids, kwargs, strict=True)]
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append("'constraints' must be a list of {\"id\", \"kwargs\"} objects")
        return ()
    out: list[Constraint] = []
    for n, item in enumerate(value, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"].strip():
            problems.append(f"constraint {n} needs an 'id' (text)")
            continue
        kwargs = item.get("kwargs")
        if kwargs is None:
            kwargs = {}
        if not isinstance(kwargs, dict):
            problems.append(f"constraint {n} ({item['id']}): 'kwargs' must be an object")
            continue
        out.append(Constraint(item["id"].strip(), dict(kwargs)))
    return tuple(out)


def _tool_use(record: Mapping[str, Any],
              problems: list[str]) -> tuple[ToolSet | None, tuple[str, ...], ExpectedCall | None]:
    """A case's tools, canned tool results and expected call (CSV cells hold JSON text)."""
    def field(key: str) -> Any:
        value = record.get(key)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{", '"'):
            return json.loads(value)
        return value if value not in ("", None) else None

    try:
        defined, choice = field("tools"), record.get("tool_choice") or None
        tools = read_tools(json.dumps(defined), choice) if defined is not None else None
        results = field("tool_results") or []
        if not isinstance(results, list):
            raise ToolsError("'tool_results' must be a list, one result per call")
        expected = read_expected_call(field("expected_call"))
    except (ValueError, ToolsError) as exc:
        problems.append(f"tools: {exc}")
        return None, (), None
    if expected is not None and expected.name is not None and (tools is None or tools.tool(expected.name) is None):
        problems.append(f"expected_call names {expected.name!r}, which is not one of the case's tools")
    return tools, tuple(r if isinstance(r, str) else json.dumps(r) for r in results), expected


def constraints_json(constraints: Sequence[Constraint]) -> list[dict[str, Any]]:
    return [c.as_json() for c in constraints]
