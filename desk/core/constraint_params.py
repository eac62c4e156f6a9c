"""Parameters and wording shared by the constraint checkers (desk.core.constraints)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Outcome = tuple[bool, str]  # met?, and why in words a rater reads


def integer(kwargs: Mapping[str, Any], key: str) -> int:
    """An integer parameter; IFBench stores most as floats (5.0), some as "5.0" strings."""
    value = kwargs[key]
    number = float(value) if isinstance(value, str) else value
    if isinstance(number, bool) or not isinstance(number, int | float) or number != int(number):
        raise ValueError(f"{key} must be a whole number, got {value!r}")
    return int(number)


def times(n: int) -> str:
    return f"{n} time" if n == 1 else f"{n} times"


def quote(word: str, limit: int = 30) -> str:
    return repr(word if len(word) <= limit else word[: limit - 1] + "…")


def first(items: Sequence[str], n: int = 3) -> str:
    shown = ", ".join(items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


# The list the IFBench prompt gives.
_NAMES = """
Emma Liam Sophia Jackson Olivia Noah Ava Lucas Isabella Mason Mia Ethan Charlotte Alexander Amelia
Benjamin Harper Leo Zoe Daniel Chloe Samuel Lily Matthew Grace Owen Abigail Gabriel Ella Jacob
Scarlett Nathan Victoria Elijah Layla Nicholas Audrey David Hannah Christopher Penelope Thomas Nora
Andrew Aria Joseph Claire Ryan Stella Jonathan
"""
PERSON_NAMES: tuple[str, ...] = tuple(_NAMES.split())


# The pronouns upstream's count:pronouns counts (its own list, both readings use it).
PRONOUNS = frozenset(
    "i me we us you he him she her it they them my mine our ours your yours his hers its their theirs "
    "myself ourselves yourself yourselves himself herself itself themselves this that these those "
    "who whom whose which what whoever whomever whatever whichever anybody anyone anything everybody "
    "everyone everything nobody nothing somebody someone something each either neither both all some "
    "any none".split()
)

# count:keywords_multiple: each keyword parameter and how many times it must appear.
KEYWORD_TIMES = (("keyword1", 1), ("keyword2", 2), ("keyword3", 3), ("keyword4", 5), ("keyword5", 7))
