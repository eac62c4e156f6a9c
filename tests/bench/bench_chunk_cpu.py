"""CPU desk spends per streamed chunk, per wire protocol: wall-clock figures mean little on a
shared machine, the process's own CPU time does not depend on who else runs.

Two figures, each in CPU seconds per 100,000 chunks:

  decoder    a recorded stream of each protocol (the scripted vendor server's reply, one
             piece per chunk, as it came off the wire) fed to the protocol's decoder over
             and over: framing and parsing alone.
  in bulk    the same, the whole stream handed to the decoder at once (feed_batch), as a
             load run reads a body once it has ended.
  load path  `--streams` streams of `--pieces` chunks each, all sent at once through the
             real load path (desk load, one process) against the vendor server in its own
             process; desk's process CPU over the whole run (warm-up, plan and summary
             included) divided by the chunks received.
  per extra chunk  the same run less one of 1-chunk streams, divided by the extra chunks:
             the load path's cost of one more chunk, without its per-request and per-run
             costs. The least of `--rounds` runs each (other work only ever adds CPU).
             Most of it is the summary's (answer similarity, the gaps' bootstrap), after the run.
  while streaming  the same difference, with desk's CPU counted only up to the last
             request's end: the hot path per extra chunk, without the summary.

    python -m tests.bench.bench_chunk_cpu [--streams 500] [--pieces 10] [--repeat 3000] [--rounds 3]
                                          [--protocols openai,anthropic,gemini,ollama] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import httpx

from desk.core.load import LoadStep
from desk.core.provider import ProviderConfig
from desk.core.trial import GenerationSettings, ModelRef, TrialInput
from desk.engine.aio import run
from desk.engine.load import LoadPlan
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.session import Engine
from desk.providers.http import make_client
from desk.providers.registry import make_provider
from desk.providers.transport import WireTiming
from desk.store import open_store
from tests.bench.bench_timing import start_server
from tests.engine.conftest import KINDS, MODELS
from tests.vendor_server import Script, VendorServer

PER = 100_000


def _base(kind: str, root: str) -> str:
    return root + "/v1" if kind == "openai" else root


def pieces(n: int) -> list[str]:
    return [f"tok{i} " for i in range(n)]


async def record(kind: str, root: str, n: int) -> list[bytes]:
    """The raw body chunks of one streamed answer of `n` pieces, as the transport yields them."""
    async with make_client() as client:
        provider = make_provider(ProviderConfig(kind, kind, _base(kind, root)), client, None)
        request = provider.build_request(MODELS[kind], TrialInput("Measure me."), GenerationSettings(), stream=True)
        response = await client.send(request, stream=True)
        try:
            return [chunk async for chunk in response.aiter_raw()]
        finally:
            await response.aclose()


def decoder_cpu(kind: str, chunks: list[bytes], repeat: int) -> float:
    """CPU seconds per 100k chunks to decode `chunks` `repeat` times with fresh decoders."""
    provider = make_provider(ProviderConfig(kind, kind, "http://127.0.0.1:9"), httpx.AsyncClient(), None)
    t0 = time.process_time()
    for _ in range(repeat):
        decoder = provider.decoder()
        for chunk in chunks:
            list(decoder.feed(chunk, 1.0))
        list(decoder.close(2.0))
    return (time.process_time() - t0) / (repeat * len(chunks)) * PER


def bulk_decoder_cpu(kind: str, chunks: list[bytes], repeat: int) -> float:
    """CPU seconds per 100k chunks to decode `chunks` handed over at once, `repeat` times."""
    provider = make_provider(ProviderConfig(kind, kind, "http://127.0.0.1:9"), httpx.AsyncClient(), None)
    batch = [(chunk, 1.0) for chunk in chunks]
    t0 = time.process_time()
    for _ in range(repeat):
        decoder = provider.decoder()
        decoder.feed_batch(batch, WireTiming())
        list(decoder.close(2.0))
    return (time.process_time() - t0) / (repeat * len(chunks)) * PER


def decoder_figures(args: argparse.Namespace) -> dict[str, tuple[float, float]]:
    with VendorServer() as vendor:
        vendor.default_script = Script(text_pieces=pieces(args.pieces))
        recorded = {k: run(record(k, vendor.base_url, args.pieces)) for k in args.kinds}
    return {k: (decoder_cpu(k, recorded[k], args.repeat), bulk_decoder_cpu(k, recorded[k], args.repeat))
            for k in args.kinds}


async def load_round(kind: str, root: str, streams: int, workdir: Path) -> tuple[float, int, float]:
    store = open_store(workdir / f"{kind}-{time.monotonic_ns()}.db")
    try:
        store.providers.add(ProviderConfig(kind, kind, _base(kind, root)))
        plan = LoadPlan(models=(ModelRef(kind, MODELS[kind]),), inputs=(TrialInput("Measure me."),),
                        steps=(LoadStep(streams, streams),), retry=RetryPolicy(max_retries=0),
                        timeouts=Timeouts(connect=30, first_token=60, idle=60, total=120), workers=1)
        marks: list[float] = []  # CPU when the last request finished (before the summary)

        def progress(_outcome: object, done: int, planned: int) -> None:
            if done == planned:
                marks.append(time.process_time())

        async with Engine(store) as engine:
            t0 = time.process_time()
            result = await engine.loads.run(plan, progress=progress)
            cpu = time.process_time() - t0
        ok = result.summary["models"][f"{kind}/{MODELS[kind]}"]["ok"]
        return cpu, ok, marks[-1] - t0
    finally:
        store.close()


def load_figures(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Per protocol: desk's CPU over a run of `pieces`-chunk streams, per 100k chunks, and
    the marginal figure (the same run with 1-chunk streams taken off, per extra chunk), the
    least of `rounds` runs each: what one more chunk costs, without the run's fixed costs."""
    proc, port = start_server()
    root = f"http://127.0.0.1:{port}"
    out = {}
    workdir = Path(tempfile.mkdtemp(prefix="desk-bench-chunk-cpu-"))

    def script(n: int) -> None:
        body = {"script": {"text_pieces": pieces(n), "first_token_delay_ms": 100, "interval_ms": 5}}
        httpx.post(root + "/__control/default", json=body, timeout=10).raise_for_status()

    try:
        for kind in args.kinds:
            cpu: dict[int, list[float]] = {1: [], args.pieces: []}
            streaming: dict[int, list[float]] = {1: [], args.pieces: []}
            oks = []
            for _ in range(args.rounds):  # alternating, so both see the machine alike
                for n in (1, args.pieces):
                    script(n)
                    spent, ok, during = run(load_round(kind, root, args.streams, workdir))
                    cpu[n].append(spent)
                    oks.append(ok)
                    streaming[n].append(during)
            full, one = min(cpu[args.pieces]), min(cpu[1])
            extra = max(1, args.streams * (args.pieces - 1))
            out[kind] = {"cpu_s": full, "ok": min(oks),
                         "per_100k_chunks_s": full / max(1, args.streams * args.pieces) * PER,
                         "marginal_per_100k_chunks_s": (full - one) / extra * PER,
                         "streaming_per_100k_chunks_s": (min(streaming[args.pieces]) - min(streaming[1])) / extra * PER}
    finally:
        proc.terminate()
        proc.wait(5)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", type=int, default=500)
    ap.add_argument("--pieces", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3, help="load runs per figure (the least CPU counts)")
    ap.add_argument("--repeat", type=int, default=3000, help="decoder passes over each recorded stream")
    ap.add_argument("--protocols", default=",".join(KINDS))
    ap.add_argument("--skip-load", action="store_true", help="the decoder figures only")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    args.kinds = [k for k in args.protocols.split(",") if k]
    dec = decoder_figures(args)
    load = {} if args.skip_load else load_figures(args)
    print(f"desk CPU seconds per {PER:,} chunks ({args.pieces} chunks a stream; load path: {args.streams} "
          f"streams at once, one process; {time.strftime('%Y-%m-%d %H:%M')})")
    print(f"  {'protocol':10} {'decoder':>9} {'in bulk':>9} {'load path':>10} {'per extra chunk':>16} {'while streaming':>16} {'ok':>6}")
    nan = float("nan")
    for kind in args.kinds:
        row = load.get(kind, {})
        print(f"  {kind:10} {dec[kind][0]:9.3f} {dec[kind][1]:9.3f} {row.get('per_100k_chunks_s', nan):10.3f} "
              f"{row.get('marginal_per_100k_chunks_s', nan):16.3f} "
              f"{row.get('streaming_per_100k_chunks_s', nan):16.3f} {row.get('ok', 0):>6}")
    if args.json:
        print(json.dumps({"decoder": {k: v[0] for k, v in dec.items()}, "in_bulk": {k: v[1] for k, v in dec.items()},
                          "load": load}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
