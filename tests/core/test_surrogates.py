"""Surrogate halves split across stream deltas are joined; a lone half becomes U+FFFD."""

from __future__ import annotations

import pytest

from desk.core.surrogates import SurrogateJoiner

THUMBS = "\U0001f44d"


@pytest.mark.parametrize(
    ("deltas", "text", "replaced"),
    [
        (["ok ", "\ud83d", "\udc4d", " fine"], f"ok {THUMBS} fine", 0),
        (["\ud83d\udc4d"], THUMBS, 0),  # both halves in one delta
        (["a\ud83d", "\udc4d\ud83d", "\udc4db"], f"a{THUMBS}{THUMBS}b", 0),
        (["a\ud83d"], "a\ufffd", 1),  # the stream ended after a high half
        (["a\ud83d", "b"], "a\ufffdb", 1),  # a high half not followed by its low half
        (["\udc4d", "c"], "\ufffdc", 1),  # a low half on its own
        (["plain", " text"], "plain text", 0),
    ],
)
def test_halves_are_joined_and_lone_ones_replaced(deltas, text, replaced):
    joiner = SurrogateJoiner()
    out = "".join(joiner.feed(d) for d in deltas) + joiner.close()
    assert out == text
    assert joiner.replaced == replaced
    out.encode("utf-8")  # what SQLite and every file writer need
