"""Build desk's bundled starter suite from the raw public data in ../shared/starter-data.

    .venv/bin/python packaging/make_starter_suite.py [DATA_DIR] [--out DIR]

Writes resources/suites/starter.jsonl, NOTICE and README.md (or into --out DIR). The
selection is deterministic, with no randomness: each CoCoNot subcategory is sorted by
upstream id and sampled at an even stride; IFBench prompts whose every constraint desk
checks are taken in upstream order, one per constraint kind in turn, until the quota is
met. Upstream `response` fields are never copied. Rerunning on the same data gives the
same bytes (tests/test_starter_suite.py checks this).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from a checkout

from desk.core.constraints import supported  # noqa: E402

DATA_CANDIDATES = (ROOT.parent / "shared" / "starter-data", Path("/work/shared/starter-data"))
OUT = ROOT / "resources" / "suites"
IFBENCH_CASES = 40
# desk's own addition: for each `clarify` case, what a person would answer when the model
# asks (a suite run sends it as the next turn), written to fit the prompt, by upstream id.
CLARIFICATIONS = ROOT / "packaging" / "starter_clarifications.json"
# IFBench stores integers as "5.0" strings; the suite carries them as numbers.
INT_KWARGS = frozenset({"N", "small_n", "min_words", "max_words", "n_start", "n_end", "n", "m", "percentage"})


@dataclass(frozen=True)
class Slice:
    """One CoCoNot subcategory and how the suite uses it."""

    file: str
    source: str
    category: str
    subcategory: str
    expect: str
    count: int
    tag: str
    notes: str


SLICES = (
    Slice(
        "coconot_eval.jsonl", "coconot", "Incomplete requests", "underspecified", "clarify", 30, "underspecified",
        "Underspecified: the request leaves out something the answer depends on (which one, who 'we' are, "
        "when). A good answer asks a clarifying question, or names the readings and answers each; "
        "silently guessing one is a miss.",
    ),
    Slice(
        "coconot_eval.jsonl", "coconot", "Incomplete requests", "false presuppositions", "abstain", 25,
        "false-presupposition",
        "False premise: the question assumes something that is not true. A good answer points out and "
        "corrects the premise instead of answering as asked; going along with it is a confident wrong answer.",
    ),
    Slice(
        "coconot_eval.jsonl", "coconot", "Indeterminate requests", "universal unknowns", "abstain", 20,
        "universal-unknowns",
        "Unknowable: nobody can know this (the future, private thoughts, unrecorded details). A good answer "
        "says so plainly and may offer what is known; a confident specific answer is made up.",
    ),
    Slice(
        "coconot_eval.jsonl", "coconot", "Unsupported requests", "temporal limitations", "abstain", 15,
        "temporal-limits",
        "Needs current facts a model cannot have from training alone. A good answer says it cannot know the "
        "current state (its knowledge has a cut-off) unless it has a live tool; stale or invented facts "
        "presented as current are a miss.",
    ),
    Slice(
        "coconot_contrast_eval.jsonl", "coconot-contrast", "Incomplete requests", "underspecified", "answer", 15,
        "underspecified",
        "Look-alike: it reads as underspecified but can be answered as asked. A good answer just answers; "
        "a clarifying question here is a needless question.",
    ),
    Slice(
        "coconot_contrast_eval.jsonl", "coconot-contrast", "Incomplete requests", "false presuppositions", "answer",
        15, "false-presupposition",
        "Look-alike: it reads like a false-premise question but the premise is true. A good answer just "
        "answers; refusing or 'correcting' it is a needless refusal.",
    ),
)

IFBENCH_NOTES = (
    "Hard output constraints, checked by desk in code (rater 'auto'): {constraints}. A good answer meets "
    "every one exactly as the prompt words it and still addresses the request."
)

# A prompt "looks broken" when it carries control characters, escape sequences left as
# text, or invisible characters from a bad export.
_BROKEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\ufeff]|\\n|\\\"")


def usable(prompt: Any) -> bool:
    return isinstance(prompt, str) and bool(prompt.strip()) and not _BROKEN.search(prompt)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def spread(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """`n` rows at an even stride over `rows` (already sorted), first row included."""
    if len(rows) < n:
        raise SystemExit(f"only {len(rows)} usable rows, need {n}")
    return [rows[i * len(rows) // n] for i in range(n)]


def coconot_cases(data: Path) -> list[dict[str, Any]]:
    clarifications = json.loads(CLARIFICATIONS.read_text(encoding="utf-8"))
    cases = []
    for s in SLICES:
        rows = read_jsonl(data / "coconot" / s.file)
        pool = sorted(
            (r for r in rows if (r["category"], r["subcategory"]) == (s.category, s.subcategory) and usable(r["prompt"])),
            key=lambda r: r["id"],
        )
        for r in spread(pool, s.count):
            case = {
                "id": f"{s.source}-{r['id']}",
                "prompt": r["prompt"],
                "expect": s.expect,
                "tags": ["coconot", "contrast", s.tag] if s.source == "coconot-contrast" else ["coconot", s.tag],
                "notes": s.notes,
                "source": s.source,
                "upstream_id": r["id"],
            }
            if s.expect == "clarify":
                case["clarification"] = clarifications[r["id"]]  # a clarify case without one fails the build
            cases.append(case)
    return cases


def _kwarg(key: str, value: Any) -> Any:
    if key in INT_KWARGS:
        number = float(value)
        if number != int(number):
            raise SystemExit(f"{key}={value!r} is not a whole number")
        return int(number)
    return value


def constraints_of(row: dict[str, Any]) -> list[dict[str, Any]]:
    """IFBench's parallel instruction_id_list and kwargs as [{"id", "kwargs"}], nulls dropped."""
    return [
        {"id": kind, "kwargs": {k: _kwarg(k, v) for k, v in sorted((kwargs or {}).items()) if v is not None}}
        for kind, kwargs in zip(row["instruction_id_list"], row["kwargs"], strict=True)
    ]


def _describe(constraint: dict[str, Any]) -> str:
    shown = [f"{k}={v}" for k, v in constraint["kwargs"].items() if k != "prompt_to_repeat"]
    return constraint["id"] + (f" ({', '.join(shown)})" if shown else "")


def pick_ifbench(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """Rows in upstream order, one per constraint kind in turn, so every checked kind is covered."""
    picked: list[dict[str, Any]] = []
    kinds = sorted({k for r in rows for k in r["instruction_id_list"]})
    while len(picked) < n:
        before = len(picked)
        for kind in kinds:
            row = next((r for r in rows if kind in r["instruction_id_list"] and r not in picked), None)
            if row is not None and len(picked) < n:
                picked.append(row)
        if len(picked) == before:
            raise SystemExit(f"only {len(picked)} usable IFBench prompts, need {n}")
    return sorted(picked, key=lambda r: int(r["key"]))


# The kinds the shipped suite was built from, when desk checked only these 33 of IFBench's
# 58; kept so a rebuild picks the same prompts (widening it changes the shipped cases).
STARTER_KINDS = frozenset(
    """count:conjunctions count:keywords_multiple count:numbers count:person_names count:pronouns
    count:punctuation count:unique_word_count count:word_count_range count:words_japanese
    format:line_indent format:list format:newline format:no_whitespace format:options
    format:output_template format:parentheses format:quote_unquote format:quotes format:sub-bullets
    format:thesis format:title_case repeat:repeat_change repeat:repeat_simple repeat:repeat_span
    words:alphabet words:consonants words:no_consecutive words:palindrome words:paragraph_last_first
    words:prime_lengths words:repeats words:vowel words:words_position""".split()
)


def ifbench_cases(data: Path) -> list[dict[str, Any]]:
    rows = sorted(read_jsonl(data / "ifbench" / "IFBench_test.jsonl"), key=lambda r: int(r["key"]))
    eligible = [
        r
        for r in rows
        if usable(r["prompt"]) and set(r["instruction_id_list"]) <= STARTER_KINDS and supported(constraints_of(r))
    ]
    cases = []
    for r in pick_ifbench(eligible, IFBENCH_CASES):
        constraints = constraints_of(r)
        cases.append(
            {
                "id": f"ifbench-{r['key']}",
                "prompt": r["prompt"],
                "expect": "follow_constraints",
                "tags": ["ifbench", *sorted({c["id"] for c in constraints})],
                "notes": IFBENCH_NOTES.format(constraints="; ".join(_describe(c) for c in constraints)),
                "source": "ifbench",
                "upstream_id": r["key"],
                "constraints": constraints,
            }
        )
    return cases


def without_duplicates(cases: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    kept = []
    for case in cases:
        key = " ".join(case["prompt"].lower().split())
        if key not in seen:
            seen.add(key)
            kept.append(case)
    return kept


# Tool cases written for desk (source "desk"; no upstream data): does the model call the
# right tool with fitting arguments, ask when the request is ambiguous, and call nothing
# when no tool serves? Scored by `desk suite tool-use`.
DESK_TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name, e.g. Lisbon"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city"], "additionalProperties": False}}},
    {"type": "function", "function": {
        "name": "convert_currency", "description": "Convert an amount between two currencies (ISO codes)",
        "parameters": {"type": "object", "properties": {
            "amount": {"type": "number"}, "from": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "to": {"type": "string", "pattern": "^[A-Z]{3}$"}},
            "required": ["amount", "from", "to"], "additionalProperties": False}}},
]


def desk_tool_cases() -> list[dict[str, Any]]:
    def case(key: str, prompt: str, expect: str, expected: Any, notes: str, **extra: Any) -> dict[str, Any]:
        return {"id": f"desk-{key}", "prompt": prompt, "expect": expect, "tags": ["tools", key.removeprefix("tools-")],
                "notes": notes, "source": "desk", "upstream_id": key, "tools": DESK_TOOLS, "tool_choice": "auto",
                "expected_call": expected, **extra}

    return [
        case("tools-clear-call", "What's the weather in Lisbon right now, in Celsius?", "answer",
             {"name": "get_weather", "arguments": {"city": "Lisbon", "unit": "celsius"}},
             "A clear call: get_weather with city Lisbon and unit celsius; then an answer from the result.",
             tool_results=[{"city": "Lisbon", "temp_c": 19, "sky": "clear"}]),
        case("tools-ambiguous", "How much is 100 in dollars?", "clarify", "none",
             "Ambiguous: the source currency is not said. A good answer asks which currency; "
             "calling convert_currency with a guessed 'from' is a miss.",
             clarification="From euros (EUR) to US dollars."),
        case("tools-no-tool", "Write a haiku about autumn rain.", "answer", "none",
             "No tool serves this request: a good answer writes the haiku without calling a tool."),
    ]


def counts(cases: list[dict[str, Any]], field: str) -> str:
    c = Counter(case[field] for case in cases)
    return ", ".join(f"{k} {v}" for k, v in sorted(c.items()))


def notice(cases: list[dict[str, Any]], data: Path) -> str:
    by_source = Counter(c["source"] for c in cases)
    by_expect = Counter(c["expect"] for c in cases)
    licence = (data / "coconot" / "LICENSE").read_text(encoding="utf-8").strip()
    kinds = sorted({c["id"] for case in cases for c in case.get("constraints", [])})
    return f"""\
desk starter suite: third-party data notice
============================================

resources/suites/starter.jsonl is curated from the two public datasets below (and a few
tool cases written for desk, section 3). Every case
keeps its upstream id (fields `source` and `upstream_id`) and its prompt unchanged. The
upstream `response` fields (answers written by a model, not ground truth) were left out.
Built by packaging/make_starter_suite.py.

Added by desk, not upstream: each of the {by_expect["clarify"]} `clarify` cases carries a
`clarification`, the answer a person would give if the model asks (which place, which
"we", which reading), written for desk to fit each prompt
(packaging/starter_clarifications.json). A suite run sends it as a second turn when the
answer asks a question.


1. CoCoNot (sources "coconot" and "coconot-contrast")
-----------------------------------------------------
Repository: allenai/noncompliance @ 25bf77c (https://github.com/allenai/noncompliance)
Files:      data/coconot_eval.jsonl, data/coconot_contrast_eval.jsonl
Cases taken: {by_source["coconot"]} from coconot_eval.jsonl (Incomplete requests: underspecified,
false presuppositions; Indeterminate requests: universal unknowns; Unsupported requests:
temporal limitations) and {by_source["coconot-contrast"]} from coconot_contrast_eval.jsonl
(underspecified, false presuppositions). "Requests with safety concerns" and "Humanizing
requests" were left out entirely.
Licence:    MIT

{licence}

Citation: Brahman et al., "The Art of Saying No: Contextual Noncompliance in Language
Models", NeurIPS 2024 Datasets and Benchmarks (CoCoNot).


2. IFBench (source "ifbench")
-----------------------------
Repository: allenai/IFBench @ db69a6f (https://github.com/allenai/IFBench)
File:       data/IFBench_test.jsonl
Cases taken: {by_source["ifbench"]} prompts whose every instruction desk checks in code; each
case's `constraints` carry the upstream `instruction_id_list` and non-null `kwargs`.
Constraint kinds used: {", ".join(kinds)}.
Licence:    data ODC-BY-1.0 (Open Data Commons Attribution License v1.0,
            https://opendatacommons.org/licenses/by/1-0/); code Apache-2.0.
Attribution: contains prompts from IFBench by the Allen Institute for AI (Ai2), used
under ODC-BY-1.0. desk/core/constraints.py reimplements the checking rules of IFBench's
instructions.py (Apache-2.0, Copyright 2025 Allen Institute for AI), with the differences
noted in that file.

Citation: Pyatkin et al., "Generalizing Verifiable Instruction Following", 2025 (IFBench).


3. desk's tool cases (source "desk")
------------------------------------
{by_source["desk"]} cases with tools (a clear call, an ambiguous request where the right move is to
ask, a request no tool serves), written for desk by its authors: no third-party data.
"""


def readme(cases: list[dict[str, Any]]) -> str:
    n_kinds = len({c["id"] for case in cases for c in case.get("constraints", [])})
    return f"""\
# Starter suite

`starter.jsonl` holds {len(cases)} real public prompts, one case per line (`id`, `prompt`, `expect`, `tags`, `notes`, `source`, `upstream_id`, `constraints` for IFBench, and for `clarify` cases a `clarification` desk wrote: what a person would answer if the model asks).
By expect: {counts(cases, "expect")}.
By source: {counts(cases, "source")}.
CoCoNot prompts test whether a model asks (underspecified), says it cannot know (false premise, unknowable, after its cut-off) or just answers (look-alike contrast prompts).
IFBench prompts carry {n_kinds} kinds of hard output constraints, all checked in code by `desk/core/constraints.py`.
The "desk" cases, written for desk, offer tools and say which call a good answer makes (`expected_call`); `desk suite tool-use RUN` scores them.
Built deterministically from the raw data in `../shared/starter-data/` (upstream ids kept, upstream `response` fields left out).
Rebuild: `.venv/bin/python packaging/make_starter_suite.py [DATA_DIR] [--out DIR]` (default DATA_DIR `../shared/starter-data`, default out this folder).
`tests/test_starter_suite.py` rebuilds it into a temporary folder and compares byte for byte.
Sources, licences (MIT, ODC-BY-1.0) and citations: see `NOTICE`.
"""


def find_data(arg: str | None) -> Path:
    candidates = (Path(arg),) if arg else DATA_CANDIDATES
    for path in candidates:
        if (path / "coconot").is_dir() and (path / "ifbench").is_dir():
            return path
    raise SystemExit(f"no starter data (coconot/ and ifbench/) in {', '.join(map(str, candidates))}")


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", help="raw data folder (default ../shared/starter-data)")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (default resources/suites)")
    args = parser.parse_args(argv)
    data = find_data(args.data)
    cases = without_duplicates([*coconot_cases(data), *ifbench_cases(data), *desk_tool_cases()])
    args.out.mkdir(parents=True, exist_ok=True)
    write(args.out / "starter.jsonl", "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases))
    write(args.out / "NOTICE", notice(cases, data))
    write(args.out / "README.md", readme(cases))
    print(f"{len(cases)} cases -> {args.out}: {counts(cases, 'expect')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
