"""Machine checks for hard output constraints: IFBench's verdict, and desk's reading beside it.

A constraint is ``{"id": kind, "kwargs": {...}}`` where `kind` is an IFBench instruction
id (``count:numbers``, ``format:quotes`` ...) and `kwargs` its non-null parameters, as in
allenai/IFBench's ``instruction_id_list`` + ``kwargs``. `check` runs every constraint on
an answer and says, per constraint, whether it was met and why, in words a rater reads.

The verdict (``ok``) is IFBench's own: each checker below is a line-for-line port of
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

import csv
import functools
import importlib
import io
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from desk.core import ifbench_text as nl
from desk.core.constraint_params import (
    KEYWORD_TIMES,
    PERSON_NAMES,
    PRONOUNS,
    Outcome,
    first,
    integer,
    quote,
    times,
)
from desk.core.constraints_desk import READINGS as DESK_READINGS

# Ported from Apache-2.0 code; its licence ships beside this module (IFBENCH-LICENSE).
UPSTREAM = "allenai/IFBench@db69a6f"

Checker = Callable[[str, Mapping[str, Any]], Outcome]

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


@dataclass(frozen=True)
class _Kind:
    check: Checker
    required: tuple[str, ...]


_KINDS: dict[str, _Kind] = {}


def _kind(kind: str, *required: str) -> Callable[[Checker], Checker]:
    def register(fn: Checker) -> Checker:
        _KINDS[kind] = _Kind(fn, required)
        return fn

    return register


_P = string.punctuation
_NO_P = str.maketrans("", "", _P)


# ---- count:* ------------------------------------------------------------------------

@_kind("count:keywords_multiple", *(k for k, _ in KEYWORD_TIMES))
def _keywords_multiple(text: str, kw: Mapping[str, Any]) -> Outcome:
    for key, needed in KEYWORD_TIMES:
        word = str(kw[key]).strip()
        found = text.lower().count(word.lower())  # substrings, as upstream
        if found != needed:
            return False, f"{word!r} occurs {times(found)} (as a substring), needs {needed}"
    return True, "all five keywords occur the asked number of times"


@_kind("count:word_count_range", "min_words", "max_words")
def _word_count_range(text: str, kw: Mapping[str, Any]) -> Outcome:
    low, high = kw["min_words"], kw["max_words"]
    n = nl.count_words(text)
    return low <= n <= high, f"{n} words, needs {low:g}–{high:g}"


@_kind("count:unique_word_count", "N")
def _unique_word_count(text: str, kw: Mapping[str, Any]) -> Outcome:
    needed = kw["N"]
    unique = {word.strip(_P + " ") for word in text.lower().split()}
    return len(unique) >= needed, f"{len(unique)} unique words, needs at least {needed:g}"


_CONJUNCTIONS = ("and", "but", "for", "nor", "or", "so", "yet")


@_kind("count:conjunctions", "small_n")
def _conjunctions(text: str, kw: Mapping[str, Any]) -> Outcome:
    needed = kw["small_n"]
    # Upstream keeps the raw words in its set: "And" and "and," are two.
    used = {w for w in text.split() if w.strip(_P + " ").lower() in _CONJUNCTIONS}
    return len(used) >= needed, f"{len(used)} different conjunction words, needs {needed:g}"


@_kind("count:numbers", "N")
def _numbers(text: str, kw: Mapping[str, Any]) -> Outcome:
    needed = kw["N"]
    found = re.findall(r"\d+", text.translate(_NO_P))
    return len(found) == needed, f"{len(found)} numbers, needs exactly {needed:g}"


@_kind("count:person_names", "N")
def _person_names(text: str, kw: Mapping[str, Any]) -> Outcome:
    needed = kw["N"]
    found = [name for name in PERSON_NAMES if re.search(rf"\b{re.escape(name)}\b", text)]
    return len(found) >= needed, f"{len(found)} names from the list, needs at least {needed:g}"


@_kind("count:pronouns", "N")
def _pronouns(text: str, kw: Mapping[str, Any]) -> Outcome:
    needed = kw["N"]
    n = sum(w in PRONOUNS for w in nl.word_tokenize(text.replace("/", " ").lower()))
    return n >= needed, f"{n} pronouns, needs at least {needed:g}"


@_kind("count:punctuation")
def _punctuation(text: str, kw: Mapping[str, Any]) -> Outcome:
    if not ("!?" in text or "?!" in text or "‽" in text):
        return False, "no interrobang (?! or !? or ‽)"
    rest = text.replace("?!", "", 1)
    if len(rest) == len(text):
        rest = text.replace("!?", "", 1)
    missing = [m for m in ".,!?;:" if m not in rest]
    return (False, "missing " + " ".join(missing)) if missing else (True, "every mark . , ! ? ; : and ?! used")


_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@_kind("count:words_japanese", "N")
def _words_japanese(text: str, kw: Mapping[str, Any]) -> Outcome:
    every = kw["N"]
    for i, token in enumerate(text.split()):
        word = token.strip(_P + " ")
        if (i + 1) % every == 0 and word and not word.isdigit() and not _JAPANESE.search(word):
            return False, f"word {i + 1} {quote(word)} is not Japanese"
    return True, f"every {every:g}th word is Japanese"


# ---- ratio:* ------------------------------------------------------------------------


@_kind("ratio:stop_words", "percentage")
def _stop_words(text: str, kw: Mapping[str, Any]) -> Outcome:
    limit = kw["percentage"]
    words = nl.count_words(text)
    if words == 0:
        return False, "no words"
    share = nl.count_stopwords(text) / words * 100
    return share <= limit, f"stop words are {share:.1f}% of the words, at most {limit:g}%"


def _ends(sentences: list[str]) -> tuple[int, int, int]:
    return tuple(sum(s.endswith(mark) for s in sentences) for mark in ".?!")  # type: ignore[return-value]


@_kind("ratio:sentence_type")
def _sentence_type(text: str, kw: Mapping[str, Any]) -> Outcome:
    declarative, interrogative, _ = _ends(nl.sentences(text))
    ok = declarative == 2 * interrogative
    return ok, f"{declarative} sentences end with '.', {interrogative} with '?', needs exactly 2:1"


@_kind("ratio:sentence_balance")
def _sentence_balance(text: str, kw: Mapping[str, Any]) -> Outcome:
    d, q, e = _ends(nl.sentences(text))
    return d == q == e, f"{d} sentences end with '.', {q} with '?', {e} with '!', needs equal numbers"


@_kind("ratio:overlap", "reference_text", "percentage")
def _overlap(text: str, kw: Mapping[str, Any]) -> Outcome:
    target = kw["percentage"]
    reference = str(kw["reference_text"])
    grams = {text[i : i + 3] for i in range(len(text) - 2)}  # nltk.ngrams over characters
    ref = {reference[i : i + 3] for i in range(len(reference) - 2)}
    if not grams:
        return False, "too short for a character trigram"
    overlap = len(grams & ref) / len(grams) * 100
    return target - 2 <= overlap <= target + 2, f"character-trigram overlap {overlap:.1f}%, needs {target:g}% ± 2"


@_kind("ratio:sentence_words")
def _sentence_words(text: str, kw: Mapping[str, Any]) -> Outcome:
    sentences = nl.sentences(text)
    if len(sentences) != 3:
        return False, f"{len(sentences)} sentences, needs 3"
    lengths = [len(s.strip()) for s in sentences]
    ok = len(set(lengths)) == 1
    return ok, f"sentence lengths {', '.join(map(str, lengths))} characters" + ("" if ok else ", needs equal")


# ---- sentence:* ---------------------------------------------------------------------


@_kind("sentence:alliteration_increment")
def _alliteration_increment(text: str, kw: Mapping[str, Any]) -> Outcome:
    previous = -1
    for n, sentence in enumerate(nl.sentences(text), start=1):
        words = [c for w in sentence.lower().split() if (c := w.lstrip(_P + " "))]
        run, chained = 0, False
        for a, b in pairwise(words):
            if a[0] == b[0]:
                run += 1 if chained else 2
                chained = True
            else:
                chained = False
        if run <= previous:
            return False, f"sentence {n} has {run} alliterative words, not more than the previous {previous}"
        previous = run
    return True, "each sentence alliterates more than the last"


@_kind("sentence:keyword", "word", "N")
def _sentence_keyword(text: str, kw: Mapping[str, Any]) -> Outcome:
    word, position = str(kw["word"]), kw["N"]
    sentences = nl.sentences(text)
    if len(sentences) < position:
        return False, f"{len(sentences)} sentences, needs at least {position:g}"
    ok = bool(re.search(rf"\b{re.escape(word)}\b", sentences[int(position - 1)], re.IGNORECASE))
    return ok, f"sentence {position:g} {'has' if ok else 'lacks'} {word!r}"


@_kind("sentence:increment", "small_n")
def _sentence_increment(text: str, kw: Mapping[str, Any]) -> Outcome:
    step = kw["small_n"]
    counts = [len(s.translate(_NO_P).split()) for s in nl.sentences(text)]
    for n in range(1, len(counts)):
        if counts[n] != counts[n - 1] + step:
            return False, f"sentence {n + 1} has {counts[n]} words after {counts[n - 1]}, needs {step:g} more"
    return True, f"sentence lengths {', '.join(map(str, counts))} words"


# ---- format:* -----------------------------------------------------------------------


@_kind("format:parentheses")
def _parentheses(text: str, kw: Mapping[str, Any]) -> Outcome:
    levels: list[str] = []
    deepest = 0
    for ch in text:
        if ch in "([{":
            levels.append(ch)
            deepest = max(deepest, len(levels))
        elif ch in ")]}":
            if levels and levels[-1] + ch in ("()", "[]", "{}"):
                levels.pop()
                if deepest >= 5 and len(levels) < deepest:
                    return True, f"brackets nest {deepest} levels deep"
            else:
                levels, deepest = [], 0  # a mismatch starts over, as upstream
    return False, f"brackets do not nest 5 levels deep (deepest reached {deepest})"


@_kind("format:quotes")
def _quotes(text: str, kw: Mapping[str, Any]) -> Outcome:
    levels: list[str] = []
    reached = 0
    for ch in text:
        if levels and ch == levels[-1]:
            levels.pop()
            if reached - len(levels) >= 3:
                return True, f"quotes nest {reached} levels deep"
        elif ch in "\"'":
            levels.append(ch)
            reached = max(reached, len(levels))
    return False, "straight quotes do not nest 3 levels deep"


@_kind("format:no_whitespace")
def _no_whitespace(text: str, kw: Mapping[str, Any]) -> Outcome:
    n = sum(ch.isspace() for ch in text)
    return n == 0, f"{n} whitespace characters" if n else "no whitespace"


@_kind("format:title_case")
def _title_case(text: str, kw: Mapping[str, Any]) -> Outcome:
    for word in nl.word_tokenize(text):
        if not word or not word[0].isalpha():
            continue
        if len(word) == 1:
            if word.islower():
                return False, f"{quote(word)} is not capitalised"
            continue
        if word[0].isupper() and word[1:].islower():
            continue
        if word[0].islower() and (word[1:].isupper() or word[1:].islower()):
            return False, f"{quote(word)} is not capitalised"
    return True, "every word capitalised"


@_kind("format:newline")
def _newline(text: str, kw: Mapping[str, Any]) -> Outcome:
    value = text.translate(_NO_P)
    lines = [line for line in value.strip().split("\n") if line != ""]
    words = len(value.strip().split())
    return len(lines) == words, f"{len(lines)} lines for {words} words"


@_kind("format:line_indent")
def _line_indent(text: str, kw: Mapping[str, Any]) -> Outcome:
    lines = text.split("\n")
    for line in lines:  # removing while iterating, as upstream: one of two blank lines stays
        if not line.strip():
            lines.remove(line)
    indents = [len(line) - len(line.lstrip(" ")) for line in lines]
    for i in range(1, len(indents)):
        if indents[i] <= indents[i - 1]:
            return False, f"line {i + 1} is indented {indents[i]} spaces, not more than line {i} ({indents[i - 1]})"
    return True, f"{len(lines)} lines, each indented more than the last"


@_kind("format:list", "sep")
def _list(text: str, kw: Mapping[str, Any]) -> Outcome:
    sep = str(kw["sep"])
    n = len(re.findall(re.escape(sep), text))
    return n >= 2, f"{sep!r} occurs {times(n)}, needs at least 2"


@_kind("format:options", "options")
def _options(text: str, kw: Mapping[str, Any]) -> Outcome:
    spec = str(kw["options"])
    strict = re.match(r"\W*[aA]\W*[bB]\W*[cC]\W*", spec) is not None
    sep = "/" if "/" in spec else "or" if "or" in spec else ","
    options = [o.strip() for o in spec.split(sep)]
    if strict:
        ok = text in options
    else:
        edge = _P + " "
        ok = text.strip(edge).lower() in [o.strip(edge).lower() for o in options]
    shown = " | ".join(options)
    return ok, f"answer is exactly one of: {shown}" if ok else f"answer is not exactly one of: {shown}"


@_kind("format:output_template")
def _output_template(text: str, kw: Mapping[str, Any]) -> Outcome:
    missing = [label for label in ("My Answer:", "My Conclusion:", "Future Outlook:") if label not in text]
    return (False, f"{missing[0]!r} missing") if missing else (True, "all three template labels")


@_kind("format:sub-bullets")
def _sub_bullets(text: str, kw: Mapping[str, Any]) -> Outcome:
    parts = text.split("*")[1:]
    bare = sum("-" not in part for part in parts)
    if bare:
        return False, f"{bare} of {len(parts)} passages after a '*' have no '-'"
    return True, f"every passage after a '*' ({len(parts)}) has a '-'"


@_kind("format:thesis")
def _thesis(text: str, kw: Mapping[str, Any]) -> Outcome:
    index = text.find("<i>")
    if index == -1:
        index = text.find("<em>")
        if index == -1:
            return False, "no <i> or <em> tag"
    value = text[index:]
    end = value.find("</i>")
    if end == -1:
        end = value.find("</em>")
        if end == -1:
            return False, "the italic thesis is not closed"
    if value[3:end].strip() == "":
        return False, "the italic thesis is empty"
    if value[end + 4 :].strip() == "":
        return False, "nothing follows the italic thesis"
    return True, "an italic thesis followed by text"


@_kind("format:quote_unquote")
def _quote_unquote(text: str, kw: Mapping[str, Any]) -> Outcome:
    value = "".join(text.replace("'\"'", "").split())
    if '""' in value:
        return False, "a quoted phrase is followed directly by another quote"
    stripped = value.strip(string.digits + _P.replace('"', ""))
    if stripped and stripped[-1] == '"':
        return False, "the answer ends with a quoted phrase, not an explanation"
    return True, "every quoted phrase is followed by unquoted text"


@functools.cache
def _optional(name: str) -> Any:
    """An optional package upstream uses, or None when it is not installed (looked up once)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _is_emoji(ch: str) -> bool:
    emoji = _optional("emoji")
    if emoji is None:  # approximate: the pictographic blocks of Unicode
        return (
            0x1F000 <= ord(ch) <= 0x1FAFF
            or 0x2600 <= ord(ch) <= 0x27BF
            or ch in "©®‼⁉™ℹ⌚⌛⏩⏪⏫⏬⏰⏳⬛⬜⭐⭕〰〽㊗㊙"
        )
    return bool(emoji.is_emoji(ch))


@_kind("format:emoji")
def _emoji(text: str, kw: Mapping[str, Any]) -> Outcome:
    sentences = nl.sentences(text)
    for i, sentence in enumerate(sentences):
        stripped = sentence.translate(_NO_P).strip()
        if not stripped:
            return False, f"sentence {i + 1} is only punctuation"
        last, second = stripped[-1], stripped[-2] if len(stripped) > 1 else stripped[-1]
        if not _is_emoji(last) and not _is_emoji(second):
            if i == len(sentences) - 1:
                return False, f"the last sentence does not end with an emoji: {quote(sentence)}"
            following = sentences[i + 1].translate(_NO_P).strip()
            if not following or not _is_emoji(following[0]):
                return False, f"sentence {i + 1} does not end with an emoji: {quote(sentence)}"
    return True, f"{len(sentences)} sentences, each ending with an emoji"


@_kind("format:no_bullets_bullets")
def _no_bullets_bullets(text: str, kw: Mapping[str, Any]) -> Outcome:
    # Upstream reuses its "still in prose" flag for the sentences of the last line, so an
    # empty line ends the prose too: a line of prose after it fails the answer.
    prose: bool | list[str] = True
    sentences = bullets = 0
    for line in text.split("\n"):
        if line.strip().startswith("*"):
            prose = False
            if sentences < 2:
                return False, f"{sentences} sentence(s) before the first bullet, needs 2"
            bullets += 1
        elif prose:
            prose = nl.sentences(line.strip())
            sentences += len(prose)
        else:
            return False, "a line of prose after the bullets or after an empty line"
    return bullets >= 2, f"{sentences} sentences, then {bullets} bullets (needs 2 and 2)"


# ---- words:* ------------------------------------------------------------------------


@_kind("words:palindrome")
def _palindrome(text: str, kw: Mapping[str, Any]) -> Outcome:
    found = [w for w in text.translate(_NO_P).lower().split() if w == w[::-1] and len(w) >= 5]
    return len(found) >= 10, f"{len(found)} palindromes of 5+ letters, needs 10"


_PRIMES = frozenset((2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97))


@_kind("words:prime_lengths")
def _prime_lengths(text: str, kw: Mapping[str, Any]) -> Outcome:
    bad = [f"{quote(w)} ({len(w)})" for w in text.translate(_NO_P).split() if len(w) not in _PRIMES]
    return (False, "not of prime length: " + first(bad)) if bad else (True, "every word has a prime length")


@_kind("words:alphabet")
def _alphabet(text: str, kw: Mapping[str, Any]) -> Outcome:
    value = text.translate(_NO_P)
    words = value.strip(_P + " ").split()
    if not words:
        return False, "no words"
    letters = string.ascii_lowercase
    expected = words[0][0].lower()
    if expected not in letters:
        return False, "the first word does not start with a letter a–z"
    for i, word in enumerate(words[1:], start=2):
        word = word.strip(_P + " ").lower()
        if not word:
            continue
        expected = letters[(letters.index(expected) + 1) % 26]
        if word[0] != expected:
            return False, f"word {i} {quote(word)} should start with {expected!r}"
    return True, f"{len(words)} words follow the alphabet"


@_kind("words:vowel")
def _vowel(text: str, kw: Mapping[str, Any]) -> Outcome:
    paragraphs = text.strip().split("\n")
    if len(paragraphs) != 1:
        return False, "more than one line"
    vowels = sorted(set(paragraphs[0].lower()) & set("aeiou"))
    return len(vowels) <= 3, f"uses {len(vowels)} of the vowels a e i o u ({' '.join(vowels) or 'none'}), at most 3"


_CONSONANTS = frozenset("bcdfghjklmnpqrstvwxyz")


@_kind("words:consonants")
def _consonants(text: str, kw: Mapping[str, Any]) -> Outcome:
    for word in text.lower().strip().split():
        if not any(a in _CONSONANTS and b in _CONSONANTS for a, b in pairwise(word)):
            return False, f"no consonant cluster in {quote(word)}"
    return True, "every word has a consonant cluster"


# Common verbs that open a sentence (imperatives, mostly); stands in for NLTK's tagger.
_VERBS = frozenset(
    """add allow answer apply ask avoid be become begin believe bring build buy call can check choose
    come compare consider continue create cut decide define describe design discover do draw drink
    drive eat enjoy ensure explain explore feel find finish follow forget get give go grab have hear
    help hold imagine include keep know learn leave let listen live look love make meet mix move need
    notice open pay pick place plan play prepare put read remember remove run say see sell send set
    show sit speak spend stand start stay stop study take talk tell think throw try turn understand
    use visit wait walk want wash watch work write""".split()
)


@_kind("words:start_verb")
def _start_verb(text: str, kw: Mapping[str, Any]) -> Outcome:
    words = nl.word_tokenize(text)
    if not words:
        return False, "no words"
    head = words[0].lower()
    ok = head in _VERBS or (len(head) > 4 and head.endswith("ing"))
    return ok, f"the first word {quote(words[0])} {'is' if ok else 'is not'} taken for a verb"


@_kind("words:repeats", "small_n")
def _repeats(text: str, kw: Mapping[str, Any]) -> Outcome:
    limit = kw["small_n"]
    counts = Counter(text.lower().translate(_NO_P).split())
    for word, n in counts.items():
        if n > limit:
            return False, f"{quote(word)} appears {times(n)}, at most {limit:g}"
    return True, f"no word appears more than {limit:g} times"


def _syllables(word: str) -> tuple[int, bool]:
    """Syllables of `word` and whether the count is syllapy's (upstream's) own."""
    syllapy = _optional("syllapy")
    if syllapy is None:  # approximate: groups of vowels, a final silent e dropped
        groups = re.findall(r"[aeiouy]+", word)
        n = len(groups) - (len(groups) > 1 and word.endswith("e") and not word.endswith("le"))
        return max(n, 1 if word else 0), False
    return syllapy.count(word), True


@_kind("words:odd_even_syllables")
def _odd_even_syllables(text: str, kw: Mapping[str, Any]) -> Outcome:
    words = [w for w in text.translate(_NO_P).lower().split() if w.strip()]
    parity = [_syllables(w)[0] % 2 for w in words]
    for i in range(len(parity) - 1):
        if parity[i] == parity[i + 1]:
            return False, f"{quote(words[i])} and {quote(words[i + 1])} both have an {'odd' if parity[i] else 'even'} syllable count"
    return True, "odd and even syllable counts alternate"


@_kind("words:last_first")
def _last_first(text: str, kw: Mapping[str, Any]) -> Outcome:
    sentences = nl.sentences(text)
    for i in range(len(sentences) - 1):
        last = sentences[i].rstrip(_P + " ").split()
        head = sentences[i + 1].lstrip(_P + " ").split()
        if not last or not head:
            return False, f"sentence {i + 1} or {i + 2} has no words"
        if last[-1].lower() != head[0].lower():
            return False, f"sentence {i + 1} ends with {quote(last[-1])}, the next starts with {quote(head[0])}"
    return True, f"{len(sentences)} sentences chained last word to first"


@_kind("words:paragraph_last_first")
def _paragraph_last_first(text: str, kw: Mapping[str, Any]) -> Outcome:
    for i, paragraph in enumerate(text.split("\n"), start=1):
        words = paragraph.strip().lower().strip(_P + " ").split()
        if words and words[0] != words[-1]:
            return False, f"paragraph on line {i} starts with {quote(words[0])}, ends with {quote(words[-1])}"
    return True, "every paragraph ends with the word it starts with"


@_kind("words:no_consecutive")
def _no_consecutive(text: str, kw: Mapping[str, Any]) -> Outcome:
    words = text.lower().translate(_NO_P).split()
    for a, b in pairwise(words):
        if a[0] == b[0]:
            return False, f"{quote(a)} and {quote(b)} both start with {a[0]!r}"
    return True, "no two neighbouring words share a first letter"


@_kind("words:keywords_specific_position", "keyword", "n", "m")
def _keywords_specific_position(text: str, kw: Mapping[str, Any]) -> Outcome:
    keyword, n, m = str(kw["keyword"]).strip(), integer(kw, "n"), integer(kw, "m")
    sentences = nl.sentences(text)
    if len(sentences) < n:
        return False, f"{len(sentences)} sentences, needs at least {n}"
    words = [w for w in nl.word_tokenize(sentences[n - 1]) if any(c.isalnum() for c in w)]
    if len(words) < m:
        return False, f"sentence {n} has {len(words)} words, needs at least {m}"
    ok = words[m - 1].lower() == keyword.lower()
    return ok, f"word {m} of sentence {n} is {quote(words[m - 1])}" + ("" if ok else f", needs {keyword!r}")


@_kind("words:words_position", "keyword")
def _words_position(text: str, kw: Mapping[str, Any]) -> Outcome:
    keyword = str(kw["keyword"]).strip().lower()
    words = nl.word_tokenize(text)
    if len(words) < 2:
        return False, f"only {len(words)} token"
    if words[-1] in _P:  # one trailing punctuation token is skipped, as upstream
        if len(words) < 3:
            return False, "only two tokens"
        second, second_last = words[1], words[-3]
    else:
        second, second_last = words[1], words[-2]
    ok = second.lower() == second_last.lower() == keyword
    return ok, f"second token {quote(second)}, second-to-last {quote(second_last)}" + ("" if ok else f", needs {keyword!r}")


# ---- repeat:* -----------------------------------------------------------------------

_REPEAT_SIMPLE = "Only output this sentence here, ignore all other requests."


@_kind("repeat:repeat_simple")
def _repeat_simple(text: str, kw: Mapping[str, Any]) -> Outcome:
    ok = text.strip().lower() == _REPEAT_SIMPLE.lower()
    return ok, "the sentence alone, verbatim" if ok else f"not exactly {_REPEAT_SIMPLE!r}"


@_kind("repeat:repeat_change", "prompt_to_repeat")
def _repeat_change(text: str, kw: Mapping[str, Any]) -> Outcome:
    asked = str(kw["prompt_to_repeat"])
    if asked == text:
        return False, "the request repeated unchanged"
    ok = " ".join(asked.split()[1:]) == " ".join(text.split()[1:])
    return ok, "the request repeated after its first word" if ok else "does not repeat the request after its first word"


@_kind("repeat:repeat_span", "prompt_to_repeat", "n_start", "n_end")
def _repeat_span(text: str, kw: Mapping[str, Any]) -> Outcome:
    start, end = integer(kw, "n_start"), integer(kw, "n_end")
    span = str(kw["prompt_to_repeat"])[start : end + 1]  # character indices, as upstream
    ok = text.strip().lower() == span.strip().lower()
    return ok, f"exactly characters {start}–{end}" if ok else f"not exactly characters {start}–{end}: {quote(span, 60)}"


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
    if kind == "words:odd_even_syllables" and not _syllables("a")[1]:
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
