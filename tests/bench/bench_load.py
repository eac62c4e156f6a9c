"""The load engine's own added latency at 500 concurrent streams.

Runs `LoadService.run` (exactly what `desk load` runs) against the lean
loopback server in its own process, 500 requests at concurrency 500, then joins every
stored response to the server's log by request ID on the shared wall clock:

  send lag     server read the request - desk handed it to its transport
  arrival lag  desk saw the first token - server wrote it
  added        send lag + arrival lag: what desk itself added to TTFT

    python -m tests.bench.bench_load [--concurrency 500] [--delay-ms 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path

import httpx

from desk.core.load import LoadStep
from desk.core.provider import ProviderConfig
from desk.core.trial import ModelRef, TrialInput
from desk.engine.load import LoadPlan
from desk.engine.policy import RetryPolicy
from desk.engine.session import Engine
from desk.store import open_store
from tests.bench.bench_timing import pct, start_server

BOUND_MS = 10.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--concurrency", type=int, default=500)
    ap.add_argument("--requests", type=int, default=None, help="default: one per concurrent stream")
    ap.add_argument("--delay-ms", type=float, default=200.0)
    ap.add_argument("--pieces", type=int, default=20)
    ap.add_argument("--interval-ms", type=float, default=20.0)
    args = ap.parse_args(argv)
    proc, port = start_server("--delay-ms", str(args.delay_ms), "--pieces", str(args.pieces),
                              "--interval-ms", str(args.interval_ms), module="tests.bench.lean_server")
    base = f"http://127.0.0.1:{port}"
    db = Path(tempfile.mkdtemp(prefix="desk-bench-load-")) / "desk.db"
    store = open_store(db)
    store.providers.add(ProviderConfig("bench", "openai", base + "/v1"))
    plan = LoadPlan(models=(ModelRef("bench", "m"),), inputs=(TrialInput("Measure me."),),
                    steps=(LoadStep(args.concurrency, args.requests or args.concurrency),),
                    retry=RetryPolicy(max_retries=0))

    async def go() -> tuple[str, dict]:
        async with Engine(store) as engine:
            result = await engine.loads.run(plan)
        async with httpx.AsyncClient(base_url=base) as control:
            log = (await control.get("/__log")).json()
        return result.run_id, {"summary": result.summary, "log": log}

    try:
        if os.environ.get("DESK_NO_UVLOOP") == "1":
            run_id, data = asyncio.run(go())
        else:
            try:
                import uvloop

                run_id, data = uvloop.run(go())
            except ImportError:
                run_id, data = asyncio.run(go())
    finally:
        proc.terminate()
        proc.wait(5)
    log, summary = data["log"], data["summary"]
    send, arrival = [], []
    order = []
    for r in store.runs.responses(run_id):
        rec = log.get(r.vendor_request_id or "")
        if rec is None or r.started_at is None or r.first_token_at is None or rec["first_token_written_at"] is None:
            continue
        send.append((rec["read_at"] - r.started_at) * 1000)
        order.append(r.started_at)
        arrival.append((r.first_token_at - rec["first_token_written_at"]) * 1000)
    store.close()
    added = [s + a for s, a in zip(send, arrival, strict=True)]
    if os.environ.get("DESK_BENCH_DEBUG"):
        ranked = sorted(zip(order, send, strict=True))
        print("send lag by send order:", [round(x[1], 1) for x in ranked][::10])
    figures = summary["models"]["bench/m"]
    lag = summary["event_loop_lag"]
    print(f"desk load engine: added latency at {args.concurrency} concurrent streams ({os.cpu_count()} cores)")
    print(f"  {figures['ok']}/{figures['requests']} ok, {len(added)} joined to the server log by request id")
    print(f"  {'(ms)':34} {'p50':>8} {'p95':>8} {'max':>8}")
    for label, values in (("send lag", send), ("arrival lag", arrival), ("added by desk (send + arrival)", added)):
        print(f"  {label:34} {pct(values, .5):8.2f} {pct(values, .95):8.2f} {max(values):8.2f}")
    print(f"  event-loop lag during the run: p99 {lag['p99_ms']:.2f} ms, max {lag['max_ms']:.2f} ms"
          + (f"  ({lag['warning']})" if lag.get("warning") else ""))
    worst = max(added) if added else float("inf")
    ok = worst <= BOUND_MS and len(added) == figures["requests"]
    print(f"  bound: desk adds at most {BOUND_MS:g} ms -> max {worst:.2f} ms: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
