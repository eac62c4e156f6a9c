"""A stream is read in batches: per wake-up of the loop, every whole chunk already here, each
still stamped with the arrival of its own bytes. However the packets cut or coalesce the
chunks, the answer's text and its first content byte's arrival are the same."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import socket
import time

from desk.core.provider import ProviderConfig
from desk.core.trial import GenerationSettings, TrialInput
from desk.providers.base import StreamEvent, TextDelta
from desk.providers.http import make_client
from desk.providers.registry import make_provider
from desk.providers.transport import LeanTransport, WireTiming, _Body
from tests.providers.test_transport_whole_chunks import body_of, buffered, step_by_step
from tests.raw_server import RawServer

PIECES = ["Hel", "lo", " wor", "ld", "!"]


def sse_chunks(pieces: list[str] = PIECES) -> list[bytes]:
    """An OpenAI chat stream, one SSE event per HTTP chunk (chunked framing included)."""
    events = [{"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": p}}]} for p in pieces]
    events.append({"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    lines = [b"data: " + json.dumps(e).encode() + b"\n\n" for e in events] + [b"data: [DONE]\n\n"]
    return [b"%x\r\n%s\r\n" % (len(line), line) for line in lines] + [b"0\r\n\r\n"]


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"


async def batches_of(base_url: str) -> tuple[list[list[StreamEvent]], float]:
    """The provider's event lists for one streamed answer, and when the request was handed over."""
    async with make_client() as client:
        provider = make_provider(ProviderConfig("raw", "openai", base_url + "/v1"), client, None)
        timing = WireTiming()
        got = [events async for events in provider.stream_batches("m", TrialInput("hi"), GenerationSettings(),
                                                                 timing=timing)]
        assert timing.started is not None
        return got, timing.started


def texts(batches: list[list[StreamEvent]]) -> list[TextDelta]:
    return [e for events in batches for e in events if isinstance(e, TextDelta)]


def test_chunks_coalesced_in_one_read_come_as_one_batch_with_the_same_text():
    def answer(_head: bytes, sock: socket.socket) -> None:
        sock.sendall(HEAD + b"".join(sse_chunks()))  # every chunk in one write

    with RawServer(answer) as srv:
        batches, _ = asyncio.run(batches_of(srv.base_url))
    assert "".join(d.text for d in texts(batches)) == "".join(PIECES)
    content = [events for events in batches if any(isinstance(e, TextDelta) for e in events)]
    assert len(content) == 1 and len(content[0]) >= len(PIECES)  # one pass through the layers, not five


def test_chunks_split_across_many_reads_give_the_same_text_and_events():
    chunks = b"".join(sse_chunks())
    rng = random.Random(22)

    def answer(_head: bytes, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(HEAD)
        at = 0
        while at < len(chunks):  # cut anywhere: inside size lines, data and CRLFs
            n = rng.randint(1, 9)
            sock.sendall(chunks[at:at + n])
            at += n
            time.sleep(0.002)

    def answer_whole(_head: bytes, sock: socket.socket) -> None:
        sock.sendall(HEAD + chunks)

    with RawServer(answer) as srv:
        split, _ = asyncio.run(batches_of(srv.base_url))
    with RawServer(answer_whole) as srv:
        whole, _ = asyncio.run(batches_of(srv.base_url))
    kinds = [[type(e).__name__ for events in got for e in events] for got in (split, whole)]
    assert kinds[0] == kinds[1]
    assert [d.text for d in texts(split)] == [d.text for d in texts(whole)] == PIECES


def test_first_content_byte_keeps_its_own_arrival_when_the_rest_comes_later():
    def answer(_head: bytes, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        first, *rest = sse_chunks()
        sock.sendall(HEAD + first)
        time.sleep(0.3)
        sock.sendall(b"".join(rest))  # the rest at once: one batch, read 0.3 s later

    with RawServer(answer) as srv:
        batches, started = asyncio.run(batches_of(srv.base_url))
    deltas = texts(batches)
    assert [d.text for d in deltas] == PIECES
    assert deltas[0].at - started < 0.25 <= deltas[1].at - started  # TTFT: the first byte's, not the batch's
    assert len({d.at for d in deltas[1:]}) == 1  # those arrived in one packet


def test_a_body_read_in_batches_gives_each_chunk_its_own_arrival_as_the_step_by_step_read():
    rng = random.Random(7)
    for _ in range(300):
        body = body_of(rng)
        cuts = sorted(rng.sample(range(1, len(body)), min(len(body) - 1, rng.randint(0, 6))))
        expected = asyncio.run(step_by_step(buffered(body, cuts)))

        async def batched(body: bytes = body, cuts: list[int] = cuts) -> list[list[tuple[bytes, float]]]:
            timing = WireTiming()
            body_ = _Body(LeanTransport(), ("http", "h", 1), buffered(body, cuts),
                          [(b"Transfer-Encoding", b"chunked")], "POST", 200, timing)
            got = [batch async for batch in body_.batches()]
            assert timing.arrival == (got[-1][-1][1] if got else None)
            return got

        got = asyncio.run(batched())
        assert [piece for batch in got for piece in batch] == expected, (body, cuts)
        # all of it was buffered: the whole chunks come in one batch (the last chunk and
        # trailers are left to the step by step read)
        assert len(got) == (1 if expected else 0), (body, cuts)


def test_a_body_read_in_bulk_wakes_its_reader_once_for_many_pieces_each_stamped_on_arrival():
    chunks = sse_chunks()

    def answer(_head: bytes, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(HEAD)
        for chunk in chunks:  # each piece 30 ms after the last
            sock.sendall(chunk)
            time.sleep(0.03)

    async def read(bulk: bool) -> list[list[StreamEvent]]:
        async with make_client() as client:
            provider = make_provider(ProviderConfig("raw", "openai", srv.base_url + "/v1"), client, None)
            timing = WireTiming(bulk=bulk)  # as a load run asks (no deadline here)
            return [events async for events in provider.stream_batches("m", TrialInput("hi"), GenerationSettings(),
                                                                       timing=timing)]

    with RawServer(answer) as srv:
        loud, bulk = asyncio.run(read(False)), asyncio.run(read(True))
    for got in (loud, bulk):
        deltas = texts(got)
        assert [d.text for d in deltas] == PIECES
        gaps = [b.at - a.at for a, b in itertools.pairwise(deltas)]
        assert all(g > 0.015 for g in gaps), gaps  # each piece's own arrival, ~30 ms apart
    assert len([b for b in loud if texts([b])]) == len(PIECES)
    # the head (and perhaps the first piece with it), then every piece at once at the body's
    # end, then the stream's close: woken twice, however many pieces
    content = [b for b in bulk if texts([b])]
    assert len(bulk) <= 4 and len(content) <= 2 and len(texts(content[-1:])) >= len(PIECES) - 1, bulk


def test_a_body_read_in_bulk_wakes_its_reader_as_often_however_many_pieces_it_has():
    def woken(n: int) -> int:
        chunks = sse_chunks([f"p{i} " for i in range(n)])

        def answer(_head: bytes, sock: socket.socket) -> None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(HEAD)
            for chunk in chunks:
                sock.sendall(chunk)
                time.sleep(0.005)

        async def read() -> int:
            async with make_client() as client:
                provider = make_provider(ProviderConfig("raw", "openai", srv.base_url + "/v1"), client, None)
                timing = WireTiming(bulk=True)
                got = [events async for events in provider.stream_batches("m", TrialInput("hi"), GenerationSettings(),
                                                                          timing=timing)]
                assert len(texts(got)) == n
                return len(got)

        with RawServer(answer) as srv:
            return asyncio.run(read())

    # the head, the body's end, the close (and perhaps a first piece that came with the head)
    assert woken(3) <= 4 and woken(60) <= 4


async def read_in_bulk(base_url: str, *, wake_s: float, deadline_s: float
                       ) -> tuple[list[list[StreamEvent]], float, BaseException | None]:
    """A body read in bulk whose reader looks at what came `wake_s` after the start and gives
    up at `deadline_s`: the batches, how long it took, and the error it ended with."""
    async with make_client() as client:
        provider = make_provider(ProviderConfig("raw", "openai", base_url + "/v1"), client, None)
        timing = WireTiming(bulk=True)
        got: list[list[StreamEvent]] = []
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        try:
            async for events in provider.stream_batches("m", TrialInput("hi"), GenerationSettings(),
                                                        timing=timing):
                got.append(events)
                assert timing.in_bulk
                timing.wake_at = t0 + wake_s
                timing.deadline = t0 + deadline_s
        except TimeoutError as exc:
            return got, loop.time() - t0, exc
        return got, loop.time() - t0, None


def test_a_body_read_in_bulk_hands_over_what_came_at_the_readers_wake_up_and_times_out_at_its_deadline():
    chunks = sse_chunks()

    def answer(_head: bytes, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(HEAD + b"".join(chunks[:2]))
        time.sleep(2.0)  # stalls after two pieces, the connection open

    with RawServer(answer) as srv:
        got, took, error = asyncio.run(read_in_bulk(srv.base_url, wake_s=0.2, deadline_s=0.4))
    assert isinstance(error, TimeoutError), got
    assert 0.38 <= took < 0.8, took
    assert [d.text for d in texts(got)] == PIECES[:2]  # handed over at the 0.2 s wake-up, before the end


def test_a_body_read_in_bulk_is_ended_by_the_last_chunk_even_when_it_comes_alone():
    *chunks, last = sse_chunks()
    sent_last: list[float] = []

    def answer(_head: bytes, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(HEAD + chunks[0])
        time.sleep(0.05)
        sock.sendall(b"".join(chunks[1:]))
        time.sleep(0.3)  # the last chunk arrives alone
        sent_last.append(time.perf_counter())
        sock.sendall(last)
        time.sleep(1.0)  # the connection stays open: only the last chunk can end the body

    async def read() -> float:
        async with make_client() as client:
            provider = make_provider(ProviderConfig("raw", "openai", srv.base_url + "/v1"), client, None)
            timing = WireTiming(bulk=True)
            async for _events in provider.stream_batches("m", TrialInput("hi"), GenerationSettings(), timing=timing):
                pass
            return time.perf_counter()

    with RawServer(answer) as srv:
        ended = asyncio.run(read())
    assert ended - sent_last[0] < 0.1, ended - sent_last[0]


def test_a_body_read_in_bulk_that_stalls_inside_a_chunk_hands_over_its_half_and_times_out_at_its_deadline():
    chunks = sse_chunks()

    def answer(_head: bytes, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(HEAD + chunks[0] + chunks[1][:-20])  # the second chunk's last bytes never come
        time.sleep(2.0)

    with RawServer(answer) as srv:
        got, took, error = asyncio.run(read_in_bulk(srv.base_url, wake_s=0.15, deadline_s=0.3))
    assert isinstance(error, TimeoutError), got
    assert 0.28 <= took < 0.7, took
    assert [d.text for d in texts(got)] == PIECES[:1]  # the whole first piece; the half one is no event
