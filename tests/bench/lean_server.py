"""A minimal OpenAI-compatible streaming server for timing benchmarks.

The scripted vendor server (tests/vendor_server.py) is built for realism and faults; at
500 requests sent at once its per-request bookkeeping makes it read requests late, and
that server ingress would be blamed on the client. This one does the least a server
can: raw asyncio Protocol, no JSON parsing, a precise timer that holds the first token
for exactly D ms after the request was read, and a log of when it read each request and
wrote each first token (wall clock, shared with the client on the same machine).

    python -m tests.bench.lean_server --port 0 --delay-ms 200 --pieces 20 --interval-ms 20 [--slots 50]
prints `LISTENING <port>`; GET /__log returns the log as JSON and clears it.

With `--slots N` at most N requests are served at once and the others wait, first come
first served, for a slot (as a vendor's queue does): the response head and, D ms after
the slot was taken, the first token go out then; the log adds `slot_at` for each request.

With `--processes K`, K processes serve one port (SO_REUSEPORT: the kernel shares the
connections out), so the server's own truth does not drift at thousands of streams; each
appends a line per first token written to a file of its own in a shared folder, and
/__log (whichever process answers it) merges and clears them. Slots are per process.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from tests.vendor_server import _PreciseTimer

_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")


class Server:
    def __init__(self, delay_ms: float, pieces: int, interval_ms: float, slots: int = 0,
                 log_dir: str | None = None, tag: str = "") -> None:
        self.delay = delay_ms / 1000
        self.pieces = pieces
        self.interval = interval_ms / 1000
        self.slots = asyncio.Semaphore(slots) if slots else None  # FIFO: waiters are woken in order
        self.log: dict[str, dict[str, float | None]] = {}
        self.ids = itertools.count(1)
        self.timer: _PreciseTimer | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.tag = tag  # request ids unique across the processes of one port
        self.log_dir = log_dir
        self.log_fd = None if log_dir is None else os.open(os.path.join(log_dir, f"{os.getpid()}.jsonl"),
                                                           os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    def logged(self, rid: str) -> None:
        """With several processes: this request's record, appended whole in one write."""
        if self.log_fd is not None:
            os.write(self.log_fd, json.dumps({"rid": rid, **self.log.pop(rid)}).encode() + b"\n")

    def dump(self) -> dict[str, dict[str, float | None]]:
        """The log so far (every process's, with several), then cleared."""
        if self.log_dir is None:
            log, self.log = self.log, {}
            return log
        merged = {}
        for name in os.listdir(self.log_dir):
            path = os.path.join(self.log_dir, name)
            with open(path, "rb") as f:
                lines = f.read().splitlines()
            os.truncate(path, 0)  # the writers append: their next lines start the file anew
            for line in lines:
                rec = json.loads(line)
                merged[rec.pop("rid")] = rec
        return merged

    def chunk(self, payload: bytes) -> bytes:
        return b"%x\r\n%s\r\n" % (len(payload), payload)

    def event(self, rid: str, text: str | None, finish: str | None = None) -> bytes:
        delta = {} if text is None else {"content": text}
        obj = {"id": rid, "object": "chat.completion.chunk",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return self.chunk(b"data: " + json.dumps(obj).encode() + b"\n\n")

    async def respond(self, transport: asyncio.Transport, rid: str, started: float) -> None:
        if self.slots is None:
            await self._respond(transport, rid, started)
            return
        async with self.slots:
            started = time.perf_counter()
            self.log[rid]["slot_at"] = time.time()
            if transport.is_closing():
                return
            transport.write(self.head(rid))
            await self._respond(transport, rid, started)

    @staticmethod
    def head(rid: str) -> bytes:
        return (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Transfer-Encoding: chunked\r\nx-request-id: " + rid.encode() + b"\r\n\r\n")

    async def _respond(self, transport: asyncio.Transport, rid: str, started: float) -> None:
        assert self.timer is not None
        await self.timer.wait(started + self.delay)
        if transport.is_closing():
            return
        first = self.event(rid, "tok0 ")
        self.log[rid]["first_token_written_at"] = time.time()  # stamped before the bytes leave
        transport.write(first)
        self.logged(rid)
        for i in range(1, self.pieces):
            await asyncio.sleep(self.interval)
            if transport.is_closing():
                return
            transport.write(self.event(rid, f"tok{i} "))
        usage = {"id": rid, "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": self.pieces,
                                                     "total_tokens": 10 + self.pieces}}
        transport.write(self.event(rid, None, "stop") + self.chunk(b"data: " + json.dumps(usage).encode() + b"\n\n")
                        + self.chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")

    def protocol(self) -> asyncio.Protocol:
        server = self

        class Conn(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport: asyncio.Transport = transport  # type: ignore[assignment]
                self.buf = bytearray()

            def data_received(self, data: bytes) -> None:
                self.buf += data
                while True:
                    end = self.buf.find(b"\r\n\r\n")
                    if end < 0:
                        return
                    m = _LENGTH.search(self.buf, 0, end + 2)
                    length = int(m.group(1)) if m else 0
                    if len(self.buf) < end + 4 + length:
                        return
                    head = bytes(self.buf[: end])
                    del self.buf[: end + 4 + length]
                    self.request(head)

            def request(self, head: bytes) -> None:
                read_at, started = time.time(), time.perf_counter()
                if head.startswith(b"GET /__log"):
                    body = json.dumps(server.dump()).encode()
                    self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                    return
                rid = f"req_{server.tag}{next(server.ids)}"
                server.log[rid] = {"read_at": read_at, "first_token_written_at": None}
                if server.slots is None:  # else the head goes out once a slot is free
                    self.transport.write(server.head(rid))
                task = asyncio.ensure_future(server.respond(self.transport, rid, started))
                server.tasks.add(task)  # keep a reference until it ends
                task.add_done_callback(server.tasks.discard)

        return Conn()


async def serve(args: argparse.Namespace) -> None:
    many = args.processes > 1 or args.log_dir is not None
    log_dir = args.log_dir or (tempfile.mkdtemp(prefix="lean-server-") if many else None)
    server = Server(args.delay_ms, args.pieces, args.interval_ms, args.slots, log_dir, f"{os.getpid()}_" if many else "")
    loop = asyncio.get_running_loop()
    server.timer = _PreciseTimer(loop)
    srv = await loop.create_server(server.protocol, "127.0.0.1", args.port, backlog=4096, reuse_port=many)
    port = srv.sockets[0].getsockname()[1]
    peers = [subprocess.Popen([sys.executable, "-m", "tests.bench.lean_server", "--port", str(port), "--log-dir",
                               log_dir, "--delay-ms", str(args.delay_ms), "--pieces", str(args.pieces),
                               "--interval-ms", str(args.interval_ms), "--slots", str(args.slots), "--loop", args.loop],
                              stdout=subprocess.PIPE, text=True)
             for _ in range(args.processes - 1)] if log_dir is not None else []
    for peer in peers:  # each is listening before this one says so
        assert peer.stdout is not None
        peer.stdout.readline()
    if peers:  # terminating this one ends its peers too
        loop.add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)  # type: ignore[union-attr]
    print(f"LISTENING {port}", flush=True)
    try:
        await srv.serve_forever()
    except asyncio.CancelledError:
        pass  # terminated (SIGTERM): end quietly, after the peers
    finally:
        for peer in peers:
            peer.terminate()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay-ms", type=float, default=200.0)
    ap.add_argument("--pieces", type=int, default=20)
    ap.add_argument("--interval-ms", type=float, default=20.0)
    ap.add_argument("--slots", type=int, default=0, help="requests served at once (0: all)")
    ap.add_argument("--processes", type=int, default=1, help="processes serving the port (SO_REUSEPORT)")
    ap.add_argument("--log-dir", help=argparse.SUPPRESS)  # a peer of --processes: where the log lines go
    ap.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop",
                    help="uvloop where installed (default), or the standard library's loop")
    args = ap.parse_args(argv)
    try:
        if args.loop == "asyncio":
            asyncio.run(serve(args))
            return
        try:
            import uvloop
        except ImportError:
            asyncio.run(serve(args))
        else:
            uvloop.run(serve(args))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
