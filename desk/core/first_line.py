"""An answer's first line, as a run's matrix shows it beside its status."""

from __future__ import annotations

FIRST_LINE_LIMIT = 200  # characters shown


def first_line(text: str, limit: int = FIRST_LINE_LIMIT) -> str:
    """The first line with any text in it, stripped and cut to `limit` characters."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:limit]
    return ""


def first_line_of_start(start: str, *, whole: bool, limit: int = FIRST_LINE_LIMIT) -> str | None:
    """`first_line` of a text known only by its `start` (all of it when `whole`), or None
    when the rest could change it: no line with text yet, or one that may go on past the
    start with fewer than `limit` characters seen (its end, and so its strip, is unknown).
    A line the start holds `limit` characters of gives the same cut whatever follows."""
    if whole:
        return first_line(start, limit)
    lines = start.splitlines()
    for k, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if k < len(lines) - 1 or len(stripped) >= limit:  # a line break follows it, or the cut is settled
            return stripped[:limit]
        return None
    return None
