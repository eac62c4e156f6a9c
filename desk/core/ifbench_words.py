"""IFBench's words:* and repeat:* checkers: letters, syllables and positions of words, and
repeating the request."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from desk.core import ifbench_text as nl
from desk.core.constraint_kinds import NO_PUNCTUATION as _NO_P
from desk.core.constraint_kinds import PUNCTUATION as _P
from desk.core.constraint_kinds import Kinds
from desk.core.constraint_kinds import optional as _optional
from desk.core.constraint_params import Outcome, first, integer, quote, times

# Ported from Apache-2.0 code; its licence ships beside this module (IFBENCH-LICENSE).
# Each checker is a line-for-line port of upstream's check_following (see desk.core.constraints).
KINDS = Kinds()
_kind = KINDS.kind


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
