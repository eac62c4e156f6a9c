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
