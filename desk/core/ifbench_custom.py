"""IFBench's custom:* checkers: one prompt each (reversals, sorted capitals, CSV, dates)."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from desk.core import ifbench_text as nl
from desk.core.constraint_kinds import NO_PUNCTUATION as _NO_P
from desk.core.constraint_kinds import PUNCTUATION as _P
from desk.core.constraint_kinds import Kinds
from desk.core.constraint_params import Outcome, first, quote

# Ported from Apache-2.0 code; its licence ships beside this module (IFBENCH-LICENSE).
# Each checker is a line-for-line port of upstream's check_following (see desk.core.constraints).
KINDS = Kinds()
_kind = KINDS.kind


# ---- custom:* (one prompt each) -------------------------------------------------------


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ASCII", "ignore").decode("ASCII")


@_kind("custom:multiples")
def _multiples(text: str, kw: Mapping[str, Any]) -> Outcome:
    numbers = re.findall(r"\d+", text.replace(",", ", "))
    ok = numbers == [str(i) for i in range(14, 51, 7)]
    return ok, "exactly 14, 21, 28, 35, 42, 49" if ok else f"numbers {first(numbers, 8) or 'none'}, needs 14 21 28 35 42 49"


@_kind("custom:mcq_count_length")
def _mcq_count_length(text: str, kw: Mapping[str, Any]) -> Outcome:
    if text[text.find("Question") :] != text:
        return False, "does not start with 'Question'"
    parts = re.split(r"\n*(?:Question \d+[\.|\):;]?\s*)", text)
    if parts[0] == "":
        parts = parts[1:]
    questions = [q.strip() for q in parts if q.strip()]
    if len(questions) != 4:
        return False, f"{len(questions)} questions, needs 4"
    lengths = []
    for n, q in enumerate(questions, start=1):
        stem, options, done = "", 0, False
        for line in q.split("\n"):
            if re.match(r"^[A-Ea-e][\.|\)]\s*\w+", line.strip()):
                options += 1
                done = True
            elif not done:
                stem += " " + line.strip()
        if options != 5:
            return False, f"question {n} has {options} options, needs 5"
        lengths.append(len(stem.strip()))
    ok = all(a < b for a, b in pairwise(lengths))
    return ok, f"question lengths {', '.join(map(str, lengths))}" + ("" if ok else ", need to grow")


@_kind("custom:reverse_newline")
def _reverse_newline(text: str, kw: Mapping[str, Any]) -> Outcome:
    lines = [line.strip(_P + " ") for line in text.split("\n") if line.strip(_P + " ")]
    start = next((i for i, line in enumerate(lines) if "Zimbabwe" in line), None)
    if start is None:
        return False, "no line with 'Zimbabwe'"
    target = [_ascii(line) for line in lines[start:]]
    if len(target) < 52:
        return False, f"{len(target)} lines from 'Zimbabwe' on, needs 52"
    ok = target == sorted(target, reverse=True)
    return ok, f"{len(target)} lines" + (" in reverse alphabetical order" if ok else ", not in reverse alphabetical order")


@_kind("custom:word_reverse")
def _word_reverse(text: str, kw: Mapping[str, Any]) -> Outcome:
    value = " ".join(text.lower().strip().translate(_NO_P).split()[::-1])
    if "bald eagle" not in value:
        return False, "read backwards word by word, it does not say 'bald eagle'"
    ok = value in nl.sentences(value)
    return ok, "one sentence, words reversed" if ok else "read backwards, it is more than one sentence"


@_kind("custom:character_reverse")
def _character_reverse(text: str, kw: Mapping[str, Any]) -> Outcome:
    ok = "elgae dlab" in text.lower()
    return ok, "'bald eagle' spelled backwards" if ok else "no 'elgae dlab'"


@_kind("custom:sentence_alphabet")
def _sentence_alphabet(text: str, kw: Mapping[str, Any]) -> Outcome:
    sentences = nl.sentences(text)
    if len(sentences) != 26:
        return False, f"{len(sentences)} sentences, needs 26"
    for i, sentence in enumerate(sentences):
        words = sentence.lstrip().split()
        if not words or words[0].lower()[0] != chr(97 + i):
            return False, f"sentence {i + 1} does not start with {chr(65 + i)!r}"
    return True, "26 sentences from A to Z"


_CAPITALS = (
    "Reykjavik Helsinki Oslo Tallinn Stockholm Riga Moscow Copenhagen Vilnius Minsk Dublin Berlin Amsterdam "
    "Warsaw London Brussels Prague Luxembourg Paris Vienna Bratislava Budapest Vaduz Chisinau Bern Ljubljana "
    "Zagreb"
).split()


@_kind("custom:european_capitals_sort")
def _european_capitals_sort(text: str, kw: Mapping[str, Any]) -> Outcome:
    capitals = [c for c in _ascii(text).split(",") if c.strip()]
    if len(capitals) != len(_CAPITALS):
        return False, f"{len(capitals)} names, needs {len(_CAPITALS)}"
    for i, (said, right) in enumerate(zip(capitals, _CAPITALS, strict=True), start=1):
        if said.strip() != right:
            return False, f"name {i} is {quote(said.strip())}, needs {right!r}"
    return True, "all 27 capitals in order"


def _csv_rows(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


@_kind("custom:csv_city")
def _csv_city(text: str, kw: Mapping[str, Any]) -> Outcome:
    rows = _csv_rows(text)
    if len(rows) != 8:
        return False, f"{len(rows)} CSV rows, needs a header and 7"
    if rows[0] != ["ID", "Country", "City", "Year", "Count"]:
        return False, "the header is not ID,Country,City,Year,Count"
    bad = [i for i, row in enumerate(rows[1:], start=2) if len(row) != 5]
    return (False, f"row {bad[0]} does not have 5 fields") if bad else (True, "header and 7 rows of 5 fields")


@_kind("custom:csv_special_character")
def _csv_special_character(text: str, kw: Mapping[str, Any]) -> Outcome:
    header = text.split("\n")[0].strip()
    if not re.match(
        r'^(ProductID|"ProductID"),[ \t]*(Category|"Category"),[ \t]*(Brand|"Brand"),[ \t]*(Price|"Price"),[ \t]*(Stock|"Stock")$',
        header,
    ):
        return False, "the header is not ProductID,Category,Brand,Price,Stock"
    rows = _csv_rows(text.replace('"', '"""'))
    if len(rows) != 15:
        return False, f"{len(rows)} CSV rows, needs a header and 14"
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != 5:
            return False, f"row {i} does not have 5 fields"
        if any(re.match(r'".*[^\d\w\s].*"', field) for field in row):
            return True, f"row {i} has a quoted field with a special character"
    return False, "no quoted field with a special character"


@_kind("custom:csv_quotes")
def _csv_quotes(text: str, kw: Mapping[str, Any]) -> Outcome:
    header = text.split("\n")[0].strip()
    if not re.match(
        r'^(StudentID|"StudentID")\t *(Subject|"Subject")\t *(Grade|"Grade")\t *(Semester|"Semester")\t *(Score|"Score")$',
        header,
    ):
        return False, "the header is not StudentID, Subject, Grade, Semester, Score separated by tabs"
    rows = _csv_rows(text.replace('"', '"""'), "\t")
    if len(rows) != 4:
        return False, f"{len(rows)} rows, needs a header and 3"
    for i, row in enumerate(rows, start=1):
        if len(row) != 5:
            return False, f"row {i} does not have 5 fields"
        # An empty field raises IndexError upstream, which fails the answer.
        if not all(f.strip() and f.strip()[0] == '"' and f.strip()[-1] == '"' for f in row):
            return False, f"row {i} has a field not in double quotes"
    return True, "header and 3 rows, every field in double quotes"


@_kind("custom:date_format_list")
def _date_format_list(text: str, kw: Mapping[str, Any]) -> Outcome:
    for date in text.strip().split(","):
        date = date.strip()
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", date):
            return False, f"{quote(date)} is not YYYY-MM-DD"
        year, month, day = (int(x) for x in date.split("-"))
        long_month = month in (1, 3, 5, 7, 8, 10, 12) and day > 31
        short_month = month in (4, 6, 9, 11) and day > 30
        if not 1769 <= year <= 1821 or month > 12 or long_month or short_month or (month == 2 and day > 29):
            return False, f"{date} is not a date of Napoleon's lifetime"
    return True, "every item a YYYY-MM-DD date of Napoleon's lifetime"
