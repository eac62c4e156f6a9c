"""Join UTF-16 surrogate halves that a vendor split across stream deltas.

A server that escapes non-ASCII as `\\uXXXX` and cuts its stream at token boundaries
may send an emoji as `"\\ud83d"` in one event and `"\\udc4d"` in the next: valid JSON,
but each half decodes to a lone surrogate that no UTF-8 writer (SQLite, a file, a
terminal) accepts. The halves are joined into one character; a half with no partner
becomes U+FFFD and is counted, so the answer can say so.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")
_PAIR_OR_LONE = re.compile("[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]")


def lone_surrogates_note(count: int) -> str:
    """The note an answer carries when `count` half characters had to be replaced."""
    what = "a lone UTF-16 surrogate" if count == 1 else f"{count} lone UTF-16 surrogates"
    return (f"the vendor sent {what} (half of a character) that no second half followed; "
            "replaced by U+FFFD (\ufffd)")


class SurrogateJoiner:
    """Fed the deltas of one stream in order; returns text safe to store and show.

    A high surrogate at the end of a delta is held back until the next delta (or `close`)
    says whether its low half follows. `replaced` counts the halves turned into U+FFFD.
    """

    def __init__(self) -> None:
        self._held = ""
        self.replaced = 0

    def feed(self, text: str) -> str:
        if self._held:
            text, self._held = self._held + text, ""
        elif not _SURROGATE.search(text):
            return text  # the usual case: nothing to do
        if text and "\ud800" <= text[-1] <= "\udbff":
            text, self._held = text[:-1], text[-1]
        return self._fix(text)

    def close(self) -> str:
        """The held-back half, if any, now known to be alone."""
        text, self._held = self._held, ""
        return self._fix(text)

    def _fix(self, text: str) -> str:
        if not _SURROGATE.search(text):
            return text
        return _PAIR_OR_LONE.sub(self._one, text)

    def _one(self, m: re.Match[str]) -> str:
        s = m.group()
        if len(s) == 2:
            return chr(0x10000 + ((ord(s[0]) - 0xD800) << 10) + (ord(s[1]) - 0xDC00))
        self.replaced += 1
        return "\ufffd"
