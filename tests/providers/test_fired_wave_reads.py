"""How the lean transport reads a fired wave's answers (issue 22): a request of a load step's
first wave is not woken for its answer's head alone, only once its body starts (or for
anything that is not a streamed 200); and readers are woken a few per turn of the loop, so
that the loop keeps reading its sockets (and stamping their bytes) between them."""

from __future__ import annotations

import asyncio
import itertools

from desk.providers.heads import head_only
from desk.providers.pacer import Pacer

STREAMED = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"


def test_only_a_streamed_answers_head_alone_lets_its_reader_sleep():
    assert head_only(bytearray(STREAMED))
    assert head_only(bytearray(STREAMED[:20]))  # not even the whole head yet
    assert not head_only(bytearray(STREAMED + b"5\r\nhello\r\n"))  # the body has started
    assert not head_only(bytearray(STREAMED.replace(b"200 OK", b"429 Too Many Requests")))
    assert not head_only(bytearray(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))  # no body will come


def test_readers_are_woken_a_few_per_turn_of_the_loop_in_order_and_none_is_lost():
    async def go():
        pacer = Pacer()
        loop = asyncio.get_running_loop()
        waiters = [loop.create_future() for _ in range(5 * Pacer.PER_PASS + 3)]
        waiters[1].cancel()  # its reader gave up (a deadline): passed over, never set
        for waiter in waiters:
            pacer.wake(waiter)
        woken_by_turn = []
        while not all(w.done() for w in waiters):
            await asyncio.sleep(0)  # one turn of the loop
            woken_by_turn.append(sum(1 for w in waiters if w.done() and not w.cancelled()))
        assert woken_by_turn[0] <= Pacer.PER_PASS
        assert all(b - a <= Pacer.PER_PASS for a, b in itertools.pairwise(woken_by_turn))
        assert woken_by_turn[-1] == len(waiters) - 1
        done_order = [w for w in waiters if not w.cancelled()]
        assert all(w.result() is None for w in done_order)
        pacer.wake(late := loop.create_future())  # a later wake starts a new round
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert late.done()

    asyncio.run(go())
