"""A JSON Lines record's only attempt reuses its response's JSON text for a number column
holding the same values (encoded once for both), and only when the text is the same:
1 and 1.0, 0.0 and -0.0 are equal numbers with different JSON."""

from __future__ import annotations

from desk.engine.export_records import _attempt_columns, _encoded
from desk.store.export_reads import ATTEMPT_COLUMNS

NAMES = ATTEMPT_COLUMNS[1:]


def _columns(**values: tuple) -> list[tuple]:
    rows = 2
    return [values.get(name, (None,) * rows) for name in NAMES]


def _shared(name: str, column: tuple) -> dict:
    return {name: (column, _encoded("num", column))}


def test_equal_columns_reuse_the_response_text():
    started = (1700000000.25, 1700000001.5)
    shared = _shared("started_at", started)
    texts = _attempt_columns(_columns(started_at=tuple(started)), shared)
    assert texts[NAMES.index("started_at")] is shared["started_at"][1]


def test_equal_numbers_with_other_text_are_encoded_apart():
    for response, attempt, expected in [((1, 2), (1.0, 2), ["1.0", "2"]), ((0.0, 3.5), (-0.0, 3.5), ["-0.0", "3.5"]),
                                        ((5.0, None), (5.0, 1), ["5.0", "1"])]:
        texts = _attempt_columns(_columns(cost_usd=attempt), _shared("cost_usd", response))
        assert texts[NAMES.index("cost_usd")] == expected
