"""desk's own overhead per request, measured on one clock against the leanest client.

A loopback server (tests/bench/lean_server.py, its own process) logs, per request, the
wall time it had read the request and the wall time it wrote the first token. Processes
on one machine share the wall clock, so each request desk sent is joined to that log by
its vendor request id (from desk's own per-request export, `run_attempt_rows`) and split:

  send lag     server read the request - desk's started_at (server ingress + desk's send path)
  arrival lag  desk's first_token_at   - server wrote the first token (desk's receive path)

desk runs exactly what `desk load` runs (the load engine: warm-up, pre-opened pool, one
step of N streams). In the same run, against the same server, the leanest reference
client does the same: N keep-alive connections opened beforehand, raw asyncio
protocols, the request written in one call, the first token timestamped in
`data_received` (byte arrival). Two cases: N streams sent at once, and N streams
queueing on S server slots (the server serves S at a time; the first token comes D ms
after a slot was taken). Targets: desk's arrival lag p95 <= 5 ms and max <= 15 ms, and
its send lag p95 within 25 ms of the reference's, in both cases.

    python -m tests.bench.bench_lag [--streams 500] [--slots 50] [--delay-ms 200] [--rounds 1]
                                    [--server-loop asyncio|uvloop] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

import httpx

from desk.core import clock
from desk.core.load import LoadStep
from desk.core.provider import ProviderConfig
from desk.core.trial import ModelRef, TrialInput
from desk.engine.aio import run
from desk.engine.export_runs import run_attempt_rows
from desk.engine.load import LoadPlan
from desk.engine.policy import RetryPolicy
from desk.engine.session import Engine
from desk.store import open_store
from tests.bench.bench_timing import pct, start_server

ARRIVAL_P95_MS = 5.0
ARRIVAL_MAX_MS = 15.0
SEND_P95_OVER_REFERENCE_MS = 25.0


@dataclass
class Lags:
    send_ms: list[float] = field(default_factory=list)
    arrival_ms: list[float] = field(default_factory=list)
    joined: int = 0
    sent: int = 0
    burst_ms: list[float] = field(default_factory=list)  # first to last request handed over, per round

    def add(self, other: Lags) -> None:
        self.send_ms += other.send_ms
        self.arrival_ms += other.arrival_ms
        self.joined += other.joined
        self.sent += other.sent
        self.burst_ms += other.burst_ms


def join(sent: list[tuple[str | None, float | None, float | None]], log: dict[str, dict[str, Any]]) -> Lags:
    """(request id, started_at, first_token_at) per request, against the server's log."""
    lags = Lags(sent=len(sent))
    for rid, started_at, first_at in sent:
        rec = log.get(rid or "")
        if rec is None or started_at is None or first_at is None or rec.get("first_token_written_at") is None:
            continue
        lags.joined += 1
        lags.send_ms.append((rec["read_at"] - started_at) * 1000)
        lags.arrival_ms.append((first_at - rec["first_token_written_at"]) * 1000)
    return lags


async def fetch_log(base: str) -> dict[str, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as control:
        return (await control.get("/__log")).json()  # and clears it


# --- desk: the load engine, as `desk load` runs it -------------------------------------------


async def desk_round(base: str, streams: int, workdir: Path) -> Lags:
    store = open_store(workdir / f"desk-{time.monotonic_ns()}.db")
    try:
        store.providers.add(ProviderConfig("bench", "openai", base + "/v1"))
        plan = LoadPlan(models=(ModelRef("bench", "m"),), inputs=(TrialInput("Measure me."),),
                        steps=(LoadStep(streams, streams),), retry=RetryPolicy(max_retries=0))
        await fetch_log(base)
        async with Engine(store) as engine:
            result = await engine.loads.run(plan)
        log = await fetch_log(base)
        rows = run_attempt_rows(store, result.run_id)  # desk's own per-request record
        lags = join([(r["vendor_request_id"], r["started_at"], r["first_token_at"]) for r in rows], log)
        starts = [r["started_at"] for r in rows]
        lags.burst_ms.append((max(starts) - min(starts)) * 1000)
        return lags
    finally:
        store.close()


# --- the leanest reference client ----------------------------------------------------------------


class _RefConn(asyncio.Protocol):
    """One keep-alive connection: write a request, timestamp the bytes as they arrive."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.head_end = -1
        self.rid: str | None = None
        self.started: float | None = None
        self.first: float | None = None
        self.done: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, request: bytes) -> None:
        assert self.transport is not None
        self.buf.clear()
        self.head_end, self.rid, self.first = -1, None, None
        self.done = asyncio.get_running_loop().create_future()
        self.started = perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        at = perf_counter()  # byte arrival
        start = max(0, len(self.buf) - 16)
        self.buf += data
        if self.head_end < 0:
            self.head_end = self.buf.find(b"\r\n\r\n")
            if self.head_end < 0:
                return
            for line in bytes(self.buf[: self.head_end]).split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"x-request-id":
                    self.rid = value.strip().decode()
            start = self.head_end
        if self.first is None and self.buf.find(b'"content"', start) >= 0:
            self.first = at
        if self.buf.endswith(b"0\r\n\r\n") and self.done is not None and not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(exc or ConnectionResetError("closed"))


async def reference_round(base: str, streams: int) -> Lags:
    host, port = base.removeprefix("http://").split(":")
    loop = asyncio.get_running_loop()
    body = json.dumps({"model": "m", "stream": True,
                       "messages": [{"role": "user", "content": "Measure me."}]}).encode()
    request = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
               f"Accept: text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    conns: list[_RefConn] = []
    for _ in range(streams):  # opened beforehand, one at a time, as a warm pool would be
        _, proto = await loop.create_connection(_RefConn, host, int(port))
        conns.append(proto)
    await asyncio.sleep(min(2.0, 0.05 + 0.001 * streams))  # let the server settle its accepts
    await fetch_log(base)
    for conn in conns:  # every stream at once
        conn.send(request)
    await asyncio.gather(*(c.done for c in conns if c.done is not None))
    log = await fetch_log(base)
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    lags = join([(c.rid, None if c.started is None else clock.wall(c.started),
                  None if c.first is None else clock.wall(c.first)) for c in conns], log)
    starts = [c.started for c in conns if c.started is not None]
    lags.burst_ms.append((max(starts) - min(starts)) * 1000)
    return lags


# --- the cases -----------------------------------------------------------------------------------


def measure(streams: int, slots: int, args: argparse.Namespace, workdir: Path) -> tuple[Lags, Lags]:
    proc, port = start_server("--delay-ms", str(args.delay_ms), "--pieces", str(args.pieces),
                              "--interval-ms", str(args.interval_ms), "--slots", str(slots),
                              "--loop", args.server_loop, module="tests.bench.lean_server")
    base = f"http://127.0.0.1:{port}"
    desk, ref = Lags(), Lags()
    try:
        for _ in range(args.rounds):  # alternate, so both see the machine in the same state
            desk.add(run(desk_round(base, streams, workdir)))
            ref.add(run(reference_round(base, streams)))
    finally:
        proc.terminate()
        proc.wait(5)
    return desk, ref


def report(title: str, desk: Lags, ref: Lags) -> tuple[bool, dict[str, Any]]:
    print(f"\n{title}")
    print(f"  joined by request id: desk {desk.joined}/{desk.sent}, reference {ref.joined}/{ref.sent}; "
          f"first to last request handed over: desk {max(desk.burst_ms):.1f} ms, "
          f"reference {max(ref.burst_ms):.1f} ms")
    print(f"  {'(ms)':28} {'p50':>8} {'p95':>8} {'max':>8}")
    figures: dict[str, Any] = {}
    for who, lags in (("desk", desk), ("reference", ref)):
        for what, values in (("send lag", lags.send_ms), ("arrival lag", lags.arrival_ms)):
            p50, p95, top = pct(values, .5), pct(values, .95), max(values, default=float("nan"))
            figures[f"{who}_{what.replace(' ', '_')}_ms"] = {"p50": p50, "p95": p95, "max": top}
            print(f"  {who + ' ' + what:28} {p50:8.2f} {p95:8.2f} {top:8.2f}")
    d_arr, d_send = figures["desk_arrival_lag_ms"], figures["desk_send_lag_ms"]
    r_send = figures["reference_send_lag_ms"]
    checks = [
        (f"arrival lag p95 <= {ARRIVAL_P95_MS:g} ms", d_arr["p95"], d_arr["p95"] <= ARRIVAL_P95_MS),
        (f"arrival lag max <= {ARRIVAL_MAX_MS:g} ms", d_arr["max"], d_arr["max"] <= ARRIVAL_MAX_MS),
        (f"send lag p95 <= reference {r_send['p95']:.2f} + {SEND_P95_OVER_REFERENCE_MS:g} ms", d_send["p95"],
         d_send["p95"] <= r_send["p95"] + SEND_P95_OVER_REFERENCE_MS),
    ]
    complete = desk.joined == desk.sent and ref.joined == ref.sent
    ok = complete and all(passed for _, _, passed in checks)
    for label, value, passed in checks:
        print(f"  target: {label:44} -> {value:7.2f} ms  {'PASS' if passed else 'FAIL'}")
    if not complete:
        print("  FAIL: not every request joined the server's log")
    figures["pass"] = ok
    return ok, figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", type=int, default=500)
    ap.add_argument("--slots", type=int, default=50, help="server slots for the queueing case")
    ap.add_argument("--delay-ms", type=float, default=200.0, help="first-token hold, from read (or slot)")
    ap.add_argument("--pieces", type=int, default=20)
    ap.add_argument("--interval-ms", type=float, default=20.0)
    ap.add_argument("--rounds", type=int, default=1, help="desk/reference rounds per case (alternating)")
    ap.add_argument("--server-loop", choices=("asyncio", "uvloop"), default="asyncio",
                    help="the server's event loop: the standard library's (as the issue measured) or uvloop")
    ap.add_argument("--json", action="store_true", help="also print the figures as one JSON object")
    args = ap.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="desk-bench-lag-"))
    print(f"desk send and arrival lag  ({os.cpu_count()} cores, lean loopback server ({args.server_loop}) in its "
          f"own process, D = {args.delay_ms:g} ms, {args.pieces} pieces every {args.interval_ms:g} ms, "
          f"{time.strftime('%Y-%m-%d %H:%M')})")
    cases = [(f"{args.streams} streams sent at once", 0),
             (f"{args.streams} streams queueing on {args.slots} server slots", args.slots)]
    all_ok, out = True, {}
    for title, slots in cases:
        desk, ref = measure(args.streams, slots, args, workdir)
        ok, figures = report(title, desk, ref)
        all_ok &= ok
        out["at_once" if not slots else "queued"] = figures
    print(f"\noverall: {'PASS' if all_ok else 'FAIL'}")
    if args.json:
        print(json.dumps(out))
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
