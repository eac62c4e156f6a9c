"""Machine checks for hard output constraints: IFBench's verdict, and desk's reading beside it.

A constraint is ``{"id": kind, "kwargs": {...}}`` where `kind` is an IFBench instruction
id (``count:numbers``, ``format:quotes`` ...) and `kwargs` its non-null parameters, as in
allenai/IFBench's ``instruction_id_list`` + ``kwargs``. `check` runs every constraint on
an answer and says, per constraint, whether it was met and why, in words a rater reads.

The verdict (``ok``) is IFBench's own: each checker (desk.core.ifbench_counts, _format,
_words and _custom, registered in desk.core.constraint_kinds) is a line-for-line port of
``check_following`` in upstream's ``ifbench/instructions.py`` at commit db69a6f (UPSTREAM),
run as its ``evaluation_lib.test_instruction_following_strict`` runs it, so an empty or
all-whitespace answer follows nothing. All 58 instruction ids of IFBench's test set are
here, quirks included; for example, upstream:

- ``count:keywords_multiple`` counts substrings (``lower().count(kw)``), so "cat" is found
  in "category";
- ``repeat:repeat_span`` slices the request by *character* indices (since its b5c6b82);
- ``words:words_position`` takes NLTK's ``word_tokenize`` tokens, punctuation included,
  and skips one trailing punctuation token;
- ``format:thesis`` cuts the thesis at ``value[3:]`` and the rest at ``+ 4`` whether the
  tag is ``<i>`` or ``<em>``, so ``<em>Thesis.</em>`` alone passes (the ``>`` left of
  ``</em>`` is the text that follows);
- ``format:newline`` counts a line holding only a space as a line; ``format:line_indent``
  removes blank lines while iterating over them, so of two blank lines in a row one stays;
  ``format:options`` with letter choices needs the answer to equal an option exactly, a
  trailing newline failing it;
- ``format:sub-bullets`` splits on every ``*`` (bold included); ``format:list`` counts the
  separator anywhere; ``format:output_template`` needs the three labels in any order.

Exact or approximate. Upstream splits text with NLTK (see desk.core.ifbench_text). Word
counts, character n-grams and the Treebank word tokenizer are reproduced exactly; the
English Punkt sentence model, the part-of-speech tagger and the stop-word list are NLTK
*data*, which only NLTK's downloader provides (no package installs them), so the verdict
for an id that needs them carries ``approximate``, the reason, per id in `APPROXIMATE`:
sentences for ``ratio:sentence_type``, ``ratio:sentence_balance``, ``ratio:sentence_words``,
``sentence:*``, ``words:last_first``, ``words:keywords_specific_position``, ``format:emoji``,
``format:no_bullets_bullets``, ``custom:word_reverse`` and ``custom:sentence_alphabet``;
``word_tokenize`` (which splits sentences first) for ``count:pronouns``,
``words:words_position`` and ``format:title_case``; the tagger for ``words:start_verb`` (a
list of verbs stands in); the stop words for ``ratio:stop_words``. The other 41 ids are
exact. ``words:odd_even_syllables`` is exact when the ``syllapy`` package upstream uses is
installed (a dependency of desk) and approximate otherwise; ``format:emoji`` uses
``emoji.is_emoji`` when the ``emoji`` package is installed.

desk's reading. Where desk believes upstream's code misreads its own instruction (it
counts "and" and "And," as two conjunctions, accepts a one-line staircase, ...), desk's
reading of the instruction (desk.core.constraints_desk) is reported beside the official
verdict as ``desk_ok``/``desk_reason`` and in `ConstraintVerdict.summary` where the two
differ. The automatic rating, and so the scorecard, takes the official verdict;
``ConstraintVerdict.followed_by("desk")`` gives desk's reading to a caller offering the choice.

Standard library only (``syllapy`` and ``emoji`` optional); no downloads. The checkers are
ported from IFBench's code, Copyright 2025 Allen Institute for AI, Apache License 2.0 (its
text: tests/ifbench/LICENSE).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from desk.core import ifbench_counts, ifbench_custom, ifbench_format, ifbench_words
from desk.core.constraint_kinds import Kind, optional
from desk.core.constraint_params import integer
from desk.core.constraints_desk import READINGS as DESK_READINGS

# Ported from Apache-2.0 code; its licence ships beside this module (IFBENCH-LICENSE).
UPSTREAM = "allenai/IFBench@db69a6f"

_PUNCT_ONLY = "sentences split without NLTK's English Punkt model (NLTK data, not installable here)"
_WORD_TOKENS = "NLTK's word_tokenize splits sentences with the Punkt model first (NLTK data, not installable here)"
APPROXIMATE: dict[str, str] = {
    **{
        kind: _PUNCT_ONLY
        for kind in (
            "ratio:sentence_type",
            "ratio:sentence_balance",
            "ratio:sentence_words",
            "sentence:alliteration_increment",
            "sentence:keyword",
            "sentence:increment",
            "words:last_first",
            "words:keywords_specific_position",
            "format:emoji",
            "format:no_bullets_bullets",
            "custom:word_reverse",
            "custom:sentence_alphabet",
        )
    },
    **{kind: _WORD_TOKENS for kind in ("count:pronouns", "words:words_position", "format:title_case")},
    "words:start_verb": "NLTK's part-of-speech tagger (NLTK data, not installable here) is replaced by a list of verbs",
    "ratio:stop_words": "NLTK's English stop-word list (NLTK data) is a copy made by hand",
}


@dataclass(frozen=True)
class ConstraintResult:
    kind: str
    ok: bool  # IFBench's verdict
    reason: str  # short human text, e.g. "keyword 'nebula' appears 1 time, needs 2"
    approximate: str | None = None  # why the verdict may not be IFBench's own; None when it is exact
    desk_ok: bool | None = None  # desk's reading of the instruction, where desk has one
    desk_reason: str | None = None

    def ok_by(self, reading: str = "ifbench") -> bool:
        """The verdict by IFBench's checker ("ifbench") or by desk's reading ("desk")."""
        if reading not in ("ifbench", "desk"):
            raise ValueError(f"reading must be 'ifbench' or 'desk', got {reading!r}")
        return self.desk_ok if reading == "desk" and self.desk_ok is not None else self.ok


@dataclass(frozen=True)
class ConstraintVerdict:
    results: tuple[ConstraintResult, ...]

    @property
    def followed(self) -> bool:
        """IFBench's verdict: every constraint met by its checker."""
        return all(r.ok for r in self.results)

    def followed_by(self, reading: str = "ifbench") -> bool:
        return all(r.ok_by(reading) for r in self.results)

    @property
    def approximate(self) -> bool:
        return any(r.approximate for r in self.results)

    def summary(self) -> str:
        """One line: "3/3 constraints met" or "violated: kind (reason); ...", then what is
        approximate and where desk's reading differs."""
        if self.followed:
            line = f"{len(self.results)}/{len(self.results)} constraints met"
        else:
            failed = [r for r in self.results if not r.ok]
            line = "violated: " + "; ".join(f"{r.kind} ({r.reason})" for r in failed)
        approx = [r.kind for r in self.results if r.approximate]
        if approx:
            line += f" [approximate: {', '.join(approx)}]"
        differ = [r for r in self.results if r.desk_ok is not None and r.desk_ok != r.ok]
        if differ:
            said = "; ".join(
                f"{r.kind} {'met' if r.desk_ok else 'violated'} ({r.desk_reason})" for r in differ
            )
            line += f" — desk's reading: {said}"
        return line


# In IFBench's order of families: count, ratio, sentence, format, words, repeat, custom.
_KINDS: dict[str, Kind] = {
    **ifbench_counts.KINDS, **ifbench_format.KINDS, **ifbench_words.KINDS, **ifbench_custom.KINDS,
}
CHECKED_KINDS: frozenset[str] = frozenset(_KINDS)


def _clean(constraint: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    kind = constraint.get("id")
    kwargs = constraint.get("kwargs") or {}
    return str(kind), {k: v for k, v in kwargs.items() if v is not None}


def supported(constraints: Sequence[Mapping[str, Any]]) -> bool:
    """Tell whether desk checks every constraint: a known kind with its parameters."""
    for constraint in constraints:
        kind, kwargs = _clean(constraint)
        if kind not in _KINDS or any(k not in kwargs for k in _KINDS[kind].required):
            return False
    return True


def _numbers_in(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Numeric parameters as numbers: IFBench stores them as floats, some files as strings."""
    out = dict(kwargs)
    for key in kwargs:
        if key in ("N", "small_n", "min_words", "max_words", "percentage", "n", "m", "n_start", "n_end"):
            out[key] = integer(kwargs, key)
    return out


def _approximation(kind: str) -> str | None:
    if kind == "words:odd_even_syllables" and optional("syllapy") is None:
        return "the syllapy package upstream counts syllables with is not installed; vowel groups stand in"
    return APPROXIMATE.get(kind)


def _desk_reading(kind: str, text: str, kwargs: Mapping[str, Any]) -> tuple[bool | None, str | None]:
    reading = DESK_READINGS.get(kind)
    if reading is None:
        return None, None
    try:
        return reading(text, kwargs)
    except (ValueError, IndexError, ZeroDivisionError):  # parameters desk's reading cannot use
        return None, None  # the official verdict stands alone


def check(text: str, constraints: Sequence[Mapping[str, Any]]) -> ConstraintVerdict:
    """Check `text` against each constraint; ValueError for an unknown kind or bad parameters."""
    results = []
    for constraint in constraints:
        kind, kwargs = _clean(constraint)
        spec = _KINDS.get(kind)
        if spec is None:
            raise ValueError(f"unsupported constraint kind: {kind}")
        missing = [k for k in spec.required if k not in kwargs]
        if missing:
            raise ValueError(f"{kind}: missing parameter {', '.join(missing)}")
        kwargs = _numbers_in(kwargs)
        approx = _approximation(kind)
        if not text.strip():  # IFBench's strict mode: an empty answer follows nothing
            empty = kind in DESK_READINGS
            results.append(ConstraintResult(kind, False, "empty answer", approx,
                                            False if empty else None, "empty answer" if empty else None))
            continue
        ok, reason = spec.check(text, kwargs)
        desk_ok, desk_reason = _desk_reading(kind, text, kwargs)
        results.append(ConstraintResult(kind, ok, reason, approx, desk_ok, desk_reason))
    return ConstraintVerdict(tuple(results))
