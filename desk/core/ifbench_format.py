"""IFBench's format:* checkers: layout, brackets, quotes, lists, templates and emoji."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

from desk.core import ifbench_text as nl
from desk.core.constraint_kinds import NO_PUNCTUATION as _NO_P
from desk.core.constraint_kinds import PUNCTUATION as _P
from desk.core.constraint_kinds import Kinds
from desk.core.constraint_kinds import optional as _optional
from desk.core.constraint_params import Outcome, quote, times

# Ported from Apache-2.0 code; its licence ships beside this module (IFBENCH-LICENSE).
# Each checker is a line-for-line port of upstream's check_following (see desk.core.constraints).
KINDS = Kinds()
_kind = KINDS.kind


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
