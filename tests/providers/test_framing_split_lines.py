"""SSE framing splits lines in bulk when a read holds only LF or CRLF line ends: the events
must be exactly those of the spec's line-by-line reading, whatever the line ends (LF, CRLF,
lone CR, mixed) and however the bytes are cut into reads."""

from __future__ import annotations

import random
import re

import pytest

from desk.providers.framing import SSEDecoder


def spec_events(stream: bytes) -> list[tuple[str, str]]:
    """An independent reading: split on every line end at once, then the spec's fields."""
    events, event, data = [], "", []
    for raw in re.split(rb"\r\n|\r|\n", stream)[:-1]:  # the part after the last end is no line
        line = raw.decode("utf-8", errors="replace")
        if not line:
            if data:
                events.append((event or "message", "\n".join(data)))
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "data":
            data.append(value)
        elif field == "event":
            event = value
    if data:  # desk's close(): a last event without its blank line still counts
        events.append((event or "message", "\n".join(data)))
    return events


def stream_of(rng: random.Random, ends: list[bytes]) -> bytes:
    out = []
    for n in range(rng.randint(1, 12)):
        end = rng.choice(ends)
        if rng.random() < 0.2:
            out.append(b": keep-alive" + end)
        if rng.random() < 0.3:
            out.append(b"event: e%d" % n + rng.choice(ends))
        for _ in range(rng.randint(1, 3)):
            value = rng.choice([b'{"t":"caf\xc3\xa9 %d"}' % n, b"", b" two spaces", b"x:y", b"\xf0\x9f\x98"])
            out.append(rng.choice([b"data: ", b"data:"]) + value + rng.choice(ends))
        out.append(end)
    return b"".join(out)


@pytest.mark.parametrize("ends", [[b"\n"], [b"\r\n"], [b"\r"], [b"\n", b"\r\n", b"\r"]],
                         ids=["lf", "crlf", "cr", "mixed"])
def test_bulk_split_reads_the_same_events_as_the_spec(ends):
    rng = random.Random(22)
    for _ in range(300):
        stream = stream_of(rng, ends)
        cuts = sorted(rng.sample(range(1, len(stream)), min(len(stream) - 1, rng.randint(0, 8))))
        decoder = SSEDecoder()
        got = []
        for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
            got += [(e.event, e.data) for e in decoder.feed(stream[a:b], 0.0)]
        got += [(e.event, e.data) for e in decoder.close(0.0)]  # a CR at the very end waited for an LF
        assert got == spec_events(stream), stream


def test_a_crlf_cut_between_its_cr_and_lf_ends_one_line():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r", 1.0) == []
    assert [(e.data, e.at) for e in decoder.feed(b"\n\r", 2.0)] == []
    assert [(e.data, e.at) for e in decoder.feed(b"\ndata: b\r\n\r\n", 3.0)] == [("a", 3.0), ("b", 3.0)]
