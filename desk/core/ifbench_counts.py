"""IFBench's count:*, ratio:* and sentence:* checkers: words, sentences and their proportions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from desk.core import ifbench_text as nl
from desk.core.constraint_kinds import NO_PUNCTUATION as _NO_P
from desk.core.constraint_kinds import PUNCTUATION as _P
from desk.core.constraint_kinds import Kinds
from desk.core.constraint_params import KEYWORD_TIMES, PERSON_NAMES, PRONOUNS, Outcome, quote, times

# Ported from Apache-2.0 code; its licence ships beside this module (IFBENCH-LICENSE).
# Each checker is a line-for-line port of upstream's check_following (see desk.core.constraints).
KINDS = Kinds()
_kind = KINDS.kind


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
