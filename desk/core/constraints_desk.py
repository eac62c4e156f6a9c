"""desk's own reading of IFBench instructions, shown beside IFBench's verdict where they differ.

IFBench's checkers (desk.core.constraints) are the official verdict. Here each instruction
is read as its prompt asks, where desk believes upstream's code reads it otherwise; every
difference is noted at its checker. Two rules hold for every kind: an empty answer meets no
constraint (as in IFBench's strict mode), and where upstream strips ASCII punctuation these
also strip typographic quotes, dashes and ellipses, because models write them.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Mapping
from itertools import pairwise
from typing import Any

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

Checker = Callable[[str, Mapping[str, Any]], Outcome]
READINGS: dict[str, Checker] = {}


def _kind(kind: str, *required: str) -> Callable[[Checker], Checker]:
    def register(fn: Checker) -> Checker:
        READINGS[kind] = fn
        return fn

    return register


# ---- shared text helpers -------------------------------------------------------------

_PUNCT = string.punctuation + "“”‘’«»„‚–—―…"  # ASCII plus what models type instead
_NO_PUNCT = str.maketrans("", "", _PUNCT)
_NO_ASCII_PUNCT = str.maketrans("", "", string.punctuation)
_CURLY_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'"})


def _words(text: str) -> list[str]:
    """Lower-cased whitespace words with punctuation removed (upstream's `_split_words`)."""
    return text.lower().translate(_NO_PUNCT).split()


# ---- count:* ------------------------------------------------------------------------

@_kind("count:keywords_multiple", *(k for k, _ in KEYWORD_TIMES))
def _keywords_multiple(text: str, kw: Mapping[str, Any]) -> Outcome:
    wrong = []
    for key, needed in KEYWORD_TIMES:
        word = str(kw[key]).strip()
        found = len(re.findall(rf"\b{re.escape(word)}\b", text, flags=re.IGNORECASE))
        if found != needed:
            wrong.append(f"keyword {word!r} appears {times(found)}, needs {needed}")
    return (False, "; ".join(wrong)) if wrong else (True, "all five keywords appear the asked number of times")


@_kind("count:word_count_range", "min_words", "max_words")
def _word_count_range(text: str, kw: Mapping[str, Any]) -> Outcome:
    low, high = integer(kw, "min_words"), integer(kw, "max_words")
    n = len(re.findall(r"\w+", text))  # upstream: NLTK RegexpTokenizer(r"\w+")
    return low <= n <= high, f"{n} words, needs {low}–{high}"


@_kind("count:unique_word_count", "N")
def _unique_word_count(text: str, kw: Mapping[str, Any]) -> Outcome:
    needed = integer(kw, "N")
    # Differs from upstream: a token that is all punctuation ("—") is not a word.
    unique = {w.strip(_PUNCT) for w in text.lower().split()} - {""}
    return len(unique) >= needed, f"{len(unique)} unique words, needs at least {needed}"


_CONJUNCTIONS = ("and", "but", "for", "nor", "or", "so", "yet")


@_kind("count:conjunctions", "small_n")
def _conjunctions(text: str, kw: Mapping[str, Any]) -> Outcome:
    needed = integer(kw, "small_n")
    # Differs from upstream, whose set kept raw tokens, so "And" and "and," counted as two.
    used = sorted({w.strip(_PUNCT) for w in text.lower().split()} & set(_CONJUNCTIONS))
    shown = f" ({', '.join(used)})" if used else ""
    return len(used) >= needed, f"{len(used)} different coordinating conjunctions{shown}, needs {needed}"


@_kind("count:numbers", "N")
def _numbers(text: str, kw: Mapping[str, Any]) -> Outcome:
    needed = integer(kw, "N")
    # Decimal points and thousands separators keep a number whole, as upstream's stripping of
    # punctuation does; differs from upstream in that "3-5" or "10:30" are two numbers, not one.
    found = re.findall(r"\d+(?:[.,]\d+)*", text)
    return len(found) == needed, f"{len(found)} numbers, needs exactly {needed}"


@_kind("count:person_names", "N")
def _person_names(text: str, kw: Mapping[str, Any]) -> Outcome:
    needed = integer(kw, "N")
    found = [name for name in PERSON_NAMES if re.search(rf"\b{name}\b", text)]
    return len(found) >= needed, f"{len(found)} names from the list, needs at least {needed}"


@_kind("count:pronouns", "N")
def _pronouns(text: str, kw: Mapping[str, Any]) -> Outcome:
    needed = integer(kw, "N")
    # Upstream tokenises with NLTK; a regex that keeps hyphenated words whole and splits
    # contractions ("it's" -> it, s) finds the same pronouns. "/" splits "she/her".
    tokens = re.findall(r"\w+(?:-\w+)*", text.lower().replace("/", " "))
    n = sum(t in PRONOUNS for t in tokens)
    return n >= needed, f"{n} pronouns, needs at least {needed}"


_MARKS = (".", ",", "!", "?", ";", ":")


@_kind("count:punctuation")
def _punctuation(text: str, kw: Mapping[str, Any]) -> Outcome:
    if not any(i in text for i in ("?!", "!?", "‽")):
        return False, "no interrobang (?! or !? or ‽)"
    # As upstream: the interrobang itself does not count as its own ? and !.
    rest = text.replace("?!", "", 1) if "?!" in text else text.replace("!?", "", 1)
    missing = [m for m in _MARKS if m not in rest]
    return (False, "missing " + " ".join(missing)) if missing else (True, "every mark . , ! ? ; : and ?! used")


_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@_kind("count:words_japanese", "N")
def _words_japanese(text: str, kw: Mapping[str, Any]) -> Outcome:
    every = integer(kw, "N")
    if every < 1:
        raise ValueError(f"N must be at least 1, got {every}")
    for i, token in enumerate(text.split(), start=1):
        word = token.strip(string.punctuation + " ")
        if i % every == 0 and word and not word.isdigit() and not _JAPANESE.search(word):
            return False, f"word {i} {quote(word)} is not Japanese"
    return True, f"every {every}th word is Japanese"


# ---- format:* -----------------------------------------------------------------------

_CLOSERS = {")": "(", "]": "[", "}": "{"}


@_kind("format:parentheses")
def _parentheses(text: str, kw: Mapping[str, Any]) -> Outcome:
    stack: list[str] = []
    deepest = 0  # depth of the deepest bracket closed correctly
    for ch in text:
        if ch in "([{":
            stack.append(ch)
        elif ch in _CLOSERS:
            if stack and stack[-1] == _CLOSERS[ch]:
                deepest = max(deepest, len(stack))
                stack.pop()
            else:
                stack = []  # a mismatch breaks the nesting, as upstream
    return deepest >= 5, f"brackets nest {deepest} levels deep, needs 5"


@_kind("format:quotes")
def _quotes(text: str, kw: Mapping[str, Any]) -> Outcome:
    # Upstream's algorithm; differs in that curly quotes count as straight ones.
    open_quotes: list[str] = []
    reached = nested = 0
    for ch in text.translate(_CURLY_QUOTES):
        if open_quotes and ch == open_quotes[-1]:
            open_quotes.pop()
            nested = max(nested, reached - len(open_quotes))
        elif ch in "\"'":
            open_quotes.append(ch)
            reached = max(reached, len(open_quotes))
    return nested >= 3, f"quotes nest {nested} levels deep, needs 3"


@_kind("format:no_whitespace")
def _no_whitespace(text: str, kw: Mapping[str, Any]) -> Outcome:
    n = sum(ch.isspace() for ch in text)
    return n == 0, f"{n} whitespace characters" if n else "no whitespace"


# Differs from upstream, which requires every word capitalised: the prompt asks for every
# *major* word, so these minor words may stay lower-case.
_MINOR_WORDS = frozenset(
    "a an the and but or nor for so yet as at by in of off on per to up via vs".split()
)


@_kind("format:title_case")
def _title_case(text: str, kw: Mapping[str, Any]) -> Outcome:
    # Words keep their apostrophes and hyphens ("Don't", "Post-war"); upstream's NLTK split
    # of "don't" into "do" + "n't" failed every contraction.
    bad = []
    for word in re.findall(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", text):
        if word in _MINOR_WORDS or not word[0].islower():
            continue
        if len(word) == 1 or word[1:].islower() or word[1:].isupper():  # "iPhone" passes, as upstream
            bad.append(quote(word))
    return (False, "not capitalised: " + first(bad)) if bad else (True, "every major word capitalised")


@_kind("format:newline")
def _newline(text: str, kw: Mapping[str, Any]) -> Outcome:
    lines = [words for line in text.translate(_NO_PUNCT).split("\n") if (words := line.split())]
    crowded = [" ".join(words) for words in lines if len(words) > 1]
    if crowded:
        return False, f"{len(crowded)} of {len(lines)} lines hold more than one word, e.g. {quote(crowded[0])}"
    return True, f"{len(lines)} lines, one word each"


@_kind("format:line_indent")
def _line_indent(text: str, kw: Mapping[str, Any]) -> Outcome:
    lines = [line for line in text.split("\n") if line.strip()]
    # Differs from upstream: one line is not a staircase.
    if len(lines) < 2:
        return False, "needs at least two lines to form stairs"
    indents = [len(line) - len(line.lstrip(" ")) for line in lines]
    for i in range(1, len(indents)):
        if indents[i] <= indents[i - 1]:
            return False, f"line {i + 1} is indented {indents[i]} spaces, not more than line {i} ({indents[i - 1]})"
    return True, f"{len(lines)} lines, each indented more than the last"


@_kind("format:list", "sep")
def _list(text: str, kw: Mapping[str, Any]) -> Outcome:
    sep = str(kw["sep"])
    # Differs from upstream, which counted `sep` anywhere: items must start a line, as its
    # docstring says (a "-" separator would otherwise pass on any hyphenated word).
    items = sum(line.lstrip().startswith(sep) for line in text.split("\n"))
    return items >= 2, f"{items} lines start with {sep!r}, needs at least 2"


@_kind("format:options", "options")
def _options(text: str, kw: Mapping[str, Any]) -> Outcome:
    spec = str(kw["options"])
    sep = "/" if "/" in spec else "or" if "or" in spec else ","
    options = [o.strip() for o in spec.split(sep)]
    if re.match(r"\W*[aA]\W*[bB]\W*[cC]\W*", spec):  # letter choices must match exactly, as upstream
        ok = text.strip() in options  # differs from upstream: surrounding whitespace is allowed
    else:
        edge = string.punctuation + " \n\t"
        ok = text.strip(edge).lower() in {o.strip(edge).lower() for o in options}
    shown = " | ".join(options)
    return ok, f"answer is exactly one of: {shown}" if ok else f"answer is not just one of: {shown}"


_TEMPLATE = ("My Answer:", "My Conclusion:", "Future Outlook:")


@_kind("format:output_template")
def _output_template(text: str, kw: Mapping[str, Any]) -> Outcome:
    # Differs from upstream: the three labels must come in the template's order.
    at = 0
    for label in _TEMPLATE:
        found = text.find(label, at)
        if found < 0:
            where = "" if at == 0 else " after the previous label"
            return False, f"{label!r} missing{where}"
        at = found + len(label)
    return True, "all three template labels, in order"


_BULLET = re.compile(r"\s*\*\s+\S")  # "* item", not "**bold**"
_SUB_BULLET = re.compile(r"\s*-\s+\S")


@_kind("format:sub-bullets")
def _sub_bullets(text: str, kw: Mapping[str, Any]) -> Outcome:
    # Upstream's docstring, not its code (which split on every "*", bold included): every
    # line-starting "*" bullet is followed by at least one "-" line before the next bullet.
    bullets: list[tuple[str, int]] = []  # (bullet line, sub-bullets under it)
    for line in text.split("\n"):
        if _BULLET.match(line):
            bullets.append((line.strip(), 0))
        elif bullets and _SUB_BULLET.match(line):
            bullets[-1] = (bullets[-1][0], bullets[-1][1] + 1)
    if not bullets:
        return False, "no '*' bullet points"
    bare = [quote(b) for b, subs in bullets if subs == 0]
    if bare:
        return False, "no '-' sub-bullet under " + first(bare)
    return True, f"{len(bullets)} bullets, each with a '-' sub-bullet"


@_kind("format:thesis")
def _thesis(text: str, kw: Mapping[str, Any]) -> Outcome:
    # As upstream: the first HTML-italic passage is non-empty and text follows it.
    m = re.search(r"<(i|em)>(.*?)</\1>", text, flags=re.DOTALL)
    if not m:
        return False, "no <i>…</i> or <em>…</em> thesis"
    if not m.group(2).strip():
        return False, "the italic thesis is empty"
    if not text[m.end() :].strip():
        return False, "nothing follows the italic thesis"
    return True, "opens with an italic thesis followed by text"


@_kind("format:quote_unquote")
def _quote_unquote(text: str, kw: Mapping[str, Any]) -> Outcome:
    # Upstream's test: no two quotes touch (ignoring whitespace) and the text does not end on one.
    squeezed = "".join(text.translate(_CURLY_QUOTES).replace("'\"'", "").split())
    if '""' in squeezed:
        return False, "a quoted phrase is followed directly by another quote"
    if squeezed.strip(string.digits + string.punctuation.replace('"', "")).endswith('"'):
        return False, "the answer ends with a quoted phrase, not an explanation"
    return True, "every quoted phrase is followed by unquoted text"


# ---- words:* ------------------------------------------------------------------------


@_kind("words:palindrome")
def _palindrome(text: str, kw: Mapping[str, Any]) -> Outcome:
    # Differs from upstream: ten *different* palindromes; "level" ten times is one.
    found = sorted({w for w in _words(text) if len(w) >= 5 and w == w[::-1]})
    shown = f" ({first(found, 5)})" if found else ""
    return len(found) >= 10, f"{len(found)} different palindromes of 5+ letters{shown}, needs 10"


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, int(n**0.5) + 1))


@_kind("words:prime_lengths")
def _prime_lengths(text: str, kw: Mapping[str, Any]) -> Outcome:
    bad = [f"{quote(w)} ({len(w)})" for w in text.translate(_NO_PUNCT).split() if not _is_prime(len(w))]
    return (False, "not of prime length: " + first(bad)) if bad else (True, "every word has a prime length")


@_kind("words:alphabet")
def _alphabet(text: str, kw: Mapping[str, Any]) -> Outcome:
    words = text.translate(_NO_PUNCT).lower().split()
    letters = string.ascii_lowercase
    if not words or words[0][0] not in letters:
        return False, "the first word does not start with a letter a–z"
    expected = words[0][0]
    for i, word in enumerate(words[1:], start=2):
        expected = letters[(letters.index(expected) + 1) % 26]
        if word[0] != expected:
            return False, f"word {i} {quote(word)} should start with {expected!r}"
    return True, f"{len(words)} words follow the alphabet"


@_kind("words:vowel")
def _vowel(text: str, kw: Mapping[str, Any]) -> Outcome:
    if "\n" in text.strip():
        return False, "more than one paragraph"
    vowels = sorted(set(text.lower()) & set("aeiou"))
    return len(vowels) <= 3, f"uses {len(vowels)} of the vowels a e i o u ({' '.join(vowels) or 'none'}), at most 3"


_CONSONANTS = frozenset("bcdfghjklmnpqrstvwxyz")


def _has_cluster(word: str) -> bool:
    return any(a in _CONSONANTS and b in _CONSONANTS for a, b in pairwise(word))


@_kind("words:consonants")
def _consonants(text: str, kw: Mapping[str, Any]) -> Outcome:
    # Differs from upstream: tokens without letters ("—", "42") are not words.
    words = [w for w in text.lower().split() if any(c.isalpha() for c in w)]
    bad = [quote(w) for w in words if not _has_cluster(w)]
    return (False, "no consonant cluster in " + first(bad)) if bad else (True, "every word has a consonant cluster")


@_kind("words:no_consecutive")
def _no_consecutive(text: str, kw: Mapping[str, Any]) -> Outcome:
    words = _words(text)
    for a, b in pairwise(words):
        if a[0] == b[0]:
            return False, f"{quote(a)} and {quote(b)} both start with {a[0]!r}"
    return True, "no two neighbouring words share a first letter"


@_kind("words:repeats", "small_n")
def _repeats(text: str, kw: Mapping[str, Any]) -> Outcome:
    limit = integer(kw, "small_n")
    counts = Counter(_words(text)).most_common(1)
    word, n = counts[0] if counts else ("", 0)
    if n > limit:
        return False, f"{quote(word)} appears {times(n)}, at most {limit}"
    return True, f"no word appears more than {times(limit)}"


@_kind("words:paragraph_last_first")
def _paragraph_lastfirst(text: str, kw: Mapping[str, Any]) -> Outcome:
    for i, line in enumerate(text.split("\n"), start=1):
        # Differs from upstream: punctuation is stripped from both words ("Hello, … hello.").
        words = [w.strip(_PUNCT) for w in line.lower().split()]
        words = [w for w in words if w]
        if words and words[0] != words[-1]:
            return False, f"paragraph on line {i} starts with {quote(words[0])}, ends with {quote(words[-1])}"
    return True, "every paragraph ends with the word it starts with"


@_kind("words:words_position", "keyword")
def _words_position(text: str, kw: Mapping[str, Any]) -> Outcome:
    keyword = str(kw["keyword"]).strip().lower()
    # Upstream: NLTK tokens that contain a letter or digit; here contractions stay one word.
    words = [w.lower() for w in re.findall(r"\w+(?:['’-]\w+)*", text)]
    if len(words) < 2:
        return False, f"only {len(words)} word"
    if words[1] == words[-2] == keyword:
        return True, f"second and second-to-last words are {keyword!r}"
    return False, f"second word is {quote(words[1])}, second-to-last is {quote(words[-2])}, needs {keyword!r}"


# ---- repeat:* -----------------------------------------------------------------------

_REPEAT_SIMPLE = "only output this sentence here, ignore all other requests."


@_kind("repeat:repeat_simple")
def _repeat_simple(text: str, kw: Mapping[str, Any]) -> Outcome:
    ok = text.strip().lower() == _REPEAT_SIMPLE
    return ok, "the sentence alone, verbatim" if ok else "not exactly the sentence 'Only output this sentence here, …'"


@_kind("repeat:repeat_change", "prompt_to_repeat")
def _repeat_change(text: str, kw: Mapping[str, Any]) -> Outcome:
    asked, said = str(kw["prompt_to_repeat"]).split(), text.split()
    if said[1:] != asked[1:]:
        return False, "does not repeat the request word for word after its first word"
    # Differs from upstream: the first word must really change ("Write" -> "write" does not).
    if said[0].lower() == asked[0].lower():
        return False, f"first word {quote(said[0])} is not changed"
    return True, f"request repeated with {quote(asked[0])} changed to {quote(said[0])}"


@_kind("repeat:repeat_span", "prompt_to_repeat", "n_start", "n_end")
def _repeat_span(text: str, kw: Mapping[str, Any]) -> Outcome:
    start, end = integer(kw, "n_start"), integer(kw, "n_end")
    span = " ".join(str(kw["prompt_to_repeat"]).split()[start : end + 1])
    # Word indices, as upstream's fixed checker and the prompt say; runs of whitespace count as one.
    ok = " ".join(text.split()).lower() == span.lower()
    return ok, f"exactly words {start}–{end}" if ok else f"not exactly words {start}–{end}: {quote(span, 60)}"
