"""Prompts for a load run from a file: CSV (a `prompt` column) or JSON Lines (a `prompt` field).

CSV files are decoded the way attachments are (`decode_text`: BOM, UTF-8, UTF-16,
Windows-1252), so a spreadsheet's export works as saved. The delimiter is the one of
`, ; TAB |` that makes a header cell named `prompt`; an optional `system` column gives
each row its system prompt. JSON Lines hold one object per line with a string `prompt`
and an optional string (or null) `system`; blank lines are skipped. A problem raises
DatasetError naming the file and line, e.g. ``prompts.jsonl line 3: not valid JSON``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from desk.core.attachment import decode_text
from desk.core.files import FileReadError, read_bounded
from desk.core.trial import MAX_PROMPT_CHARS, TrialInput, trial_size_problem

MAX_DATASET_BYTES = 200 * 1024 * 1024
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonlines")
_DELIMITERS = (",", ";", "\t", "|")

# The csv module refuses cells over 128 KiB by default: a second, hidden prompt limit with a
# message about "field limit". Raised well past the one limit, so a long prompt parses and is
# refused by that limit's own message (suite files are read by the same module).
csv.field_size_limit(max(csv.field_size_limit(), 4 * MAX_PROMPT_CHARS))


class DatasetError(ValueError):
    """A dataset that cannot be used; the message names the file and, where it can, the line."""


class UnterminatedQuote(csv.Error):
    """A quoted cell that never closes: the csv module would quietly read every line after
    it, to the end of the file, into that one cell."""

    def __init__(self, line: int) -> None:
        super().__init__("a quoted cell starts on this line and its quote is never closed "
                         "(every line after it would be read into that one cell)")
        self.line = line


def csv_records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of each CSV record, header included; raises UnterminatedQuote
    naming the line where a quoted cell that runs to the end of the file began."""
    at_end = False

    def lines() -> Iterator[str]:
        nonlocal at_end
        yield from io.StringIO(text, newline="")
        at_end = True

    reader = csv.reader(lines(), delimiter=delimiter)
    end = 0
    for row in reader:
        if at_end:  # only a quote still open makes the reader ask past the last line for a record
            raise UnterminatedQuote(end + 1)
        yield end + 1, row
        end = reader.line_num


def read_rows_file(path: str | Path, error: type[ValueError] = ValueError) -> tuple[str, bool]:
    """The decoded text of a CSV or JSONL file and whether it is JSONL (by its suffix, else
    by its first character); problems raise `error` with a message naming the file."""
    p = Path(path)
    try:
        data = read_bounded(p, MAX_DATASET_BYTES)
    except FileReadError as exc:
        raise error(str(exc)) from None
    try:
        text, _encoding = decode_text(data)
    except ValueError as exc:
        raise error(f"{p.name}: {exc}") from None
    suffix = p.suffix.lower()
    jsonl = suffix in JSONL_SUFFIXES or (suffix not in CSV_SUFFIXES and text.lstrip("\ufeff \r\n\t").startswith("{"))
    return text, jsonl


def load_prompts(path: str | Path) -> list[TrialInput]:
    """Read the prompts of a CSV or JSONL file, in file order, or raise DatasetError."""
    p = Path(path)
    text, jsonl = read_rows_file(p, DatasetError)
    if jsonl:
        prompts = prompts_from_jsonl(text, p.name)
    else:
        prompts = prompts_from_csv(text, p.name)
    if not prompts:
        raise DatasetError(f"{p.name}: no prompts in the file")
    return prompts


def prompts_from_csv(text: str, name: str = "dataset") -> list[TrialInput]:
    text = text.lstrip("\ufeff")
    header = text.split("\n", 1)[0].rstrip("\r")
    if not header.strip():
        raise DatasetError(f"{name} line 1: the header row is empty (it needs a 'prompt' column)")
    delimiter = prompt_delimiter(header)
    if delimiter is None:
        raise DatasetError(f"{name} line 1: no 'prompt' column in the header ({header[:80]!r})")
    reader = csv_records(text, delimiter)
    line = 1
    try:
        columns = [c.strip().lower() for c in next(reader)[1]]
        prompt_at = columns.index("prompt")
        system_at = columns.index("system") if "system" in columns else None
        out: list[TrialInput] = []
        for line, row in reader:
            if not any(cell.strip() for cell in row):
                continue  # a blank line or a row of empty cells
            if prompt_at >= len(row):
                raise DatasetError(f"{name} line {line}: the row has no 'prompt' cell "
                                   f"({len(row)} cells, the header has {len(columns)})")
            prompt = row[prompt_at]
            if not prompt.strip():
                raise DatasetError(f"{name} line {line}: the prompt is empty")
            system = row[system_at] if system_at is not None and system_at < len(row) else ""
            out.append(_sized(TrialInput(prompt, system or None), name, line))
    except UnterminatedQuote as exc:
        raise DatasetError(f"{name} line {exc.line}: {exc}") from None
    except csv.Error as exc:
        raise DatasetError(f"{name} line {line}: not valid CSV ({exc})") from None
    return out


def jsonl_objects(text: str) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, the line's object, None) for each non-blank line of JSONL, or
    (line number, None, what is wrong) for a line that is not a JSON object."""
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, None, f"not valid JSON ({exc.msg})"
            continue
        if not isinstance(record, dict):
            yield number, None, "expected an object with a 'prompt' field"
            continue
        yield number, record, None


def prompts_from_jsonl(text: str, name: str = "dataset") -> list[TrialInput]:
    out: list[TrialInput] = []
    for number, record, problem in jsonl_objects(text):
        if record is None:
            raise DatasetError(f"{name} line {number}: {problem}")
        prompt = record.get("prompt")
        if not isinstance(prompt, str):
            what = "no 'prompt' field" if prompt is None else "'prompt' is not a string"
            raise DatasetError(f"{name} line {number}: {what}")
        if not prompt.strip():
            raise DatasetError(f"{name} line {number}: the prompt is empty")
        system = record.get("system")
        if system is not None and not isinstance(system, str):
            raise DatasetError(f"{name} line {number}: 'system' is not a string")
        out.append(_sized(TrialInput(prompt, system or None), name, number))
    return out


def _sized(trial: TrialInput, name: str, line: int) -> TrialInput:
    problem = trial_size_problem(trial)
    if problem:
        raise DatasetError(f"{name} line {line}: {problem}")
    return trial


def prompt_delimiter(header: str) -> str | None:
    """The delimiter under which the header row has a 'prompt' column, if any."""
    for delimiter in _DELIMITERS:
        cells = next(csv.reader([header], delimiter=delimiter), [])
        if "prompt" in (c.strip().lower() for c in cells):
            return delimiter
    return None
