"""A chunked body's chunk that is wholly buffered is read in one step: the same bytes and
the same arrival stamp (that of the packet carrying its last data byte) as reading it step
by step, however the packets cut the chunks."""

from __future__ import annotations

import asyncio
import random

from desk.providers.transport import _Protocol


def body_of(rng: random.Random) -> bytes:
    chunks = [bytes(rng.choice(b"abc\r\n") for _ in range(rng.randint(1, 40))) for _ in range(rng.randint(1, 6))]
    return b"".join(b"%x%s\r\n%s\r\n" % (len(c), rng.choice([b"", b";ext=1"]), c) for c in chunks) + b"0\r\n\r\n"


def buffered(body: bytes, cuts: list[int]) -> _Protocol:
    """A connection with the body arrived in packets cut at `cuts`, packet n at instant n."""
    proto = _Protocol()
    for n, (a, b) in enumerate(zip([0, *cuts], [*cuts, len(body)], strict=True)):
        proto.buf += body[a:b]
        proto.marks.append((b, float(n)))
    proto.eof = True
    return proto


async def step_by_step(proto: _Protocol) -> list[tuple[bytes, float]]:
    out = []
    while (size := int((await proto.read_until(b"\r\n", 4096)).split(b";")[0], 16)) != 0:
        data, at = b"", 0.0
        while len(data) < size:
            part, at = await proto.read_some(size - len(data))
            data += part
        out.append((data, at))
        assert await proto.read_exactly(2) == b"\r\n"
    return out


def in_one_step(proto: _Protocol) -> list[tuple[bytes, float]]:
    out = proto.take_chunks()
    assert proto.buf == b"0\r\n\r\n"  # the last chunk is left to the step-by-step read (trailers)
    return out


def test_whole_chunks_read_in_one_step_match_the_step_by_step_read():
    rng = random.Random(22)
    for _ in range(500):
        body = body_of(rng)
        cuts = sorted(rng.sample(range(1, len(body)), min(len(body) - 1, rng.randint(0, 6))))
        expected = asyncio.run(step_by_step(buffered(body, cuts)))
        got = in_one_step(buffered(body, cuts))
        assert [d for d, _ in got] == [d for d, _ in expected]
        assert [a for _, a in got] == [a for _, a in expected], (body, cuts)


def test_a_chunk_not_all_here_is_left_for_the_step_by_step_read():
    proto = buffered(b"5\r\nhel", [])
    assert proto.take_chunks() == [] and proto.buf == b"5\r\nhel"
    proto = buffered(b"zz\r\nhello\r\n", [])
    assert proto.take_chunks() == []  # a bad size line is refused by the step-by-step read
