"""CPU time of a load run's summary after the run (`desk.core.load.summarize`, as a run
calls it once per model for the run and once per step), on built request records.

5,000 requests of 20 streamed chunks (19 gaps each), by default with one prompt whose
answers differ (a model at temperature > 0) and with ten prompts: the ITL cluster
bootstrap, the TTFT/total intervals and the answers' difflib similarity. Prints the CPU
time (time.process_time), min and median of --repeat runs, beside `uptime`'s load.

    python -m tests.bench.bench_summary [--requests 5000] [--chunks 20] [--prompts 1] [--distinct 0] [--repeat 5] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import time

from desk.core.load import RequestOutcome, _similarity, summarize

WORDS = ("the", "load", "answer", "model", "stream", "token", "latency", "paris", "is", "capital", "of", "france")


def outcomes(n: int, chunks: int, prompts: int, seed: int = 7, distinct: int = 0) -> list[RequestOutcome]:
    """`n` answered requests as a loopback run records them: TTFT near 200 ms, gaps near
    20 ms (a few slow connections), answers of about `chunks` words that vary a little:
    each its own (`distinct` 0) or one of `distinct` answers per prompt."""
    rng = random.Random(seed)

    def answer() -> list[str]:
        return [rng.choice(WORDS) if rng.random() < 0.3 else WORDS[k % len(WORDS)] for k in range(chunks)]

    pools = [[answer() for _ in range(distinct)] for _ in range(prompts)] if distinct else []
    out = []
    for i in range(n):
        slow = 3.0 if rng.random() < 0.02 else 1.0
        itl = [rng.gauss(20.0, 2.0) * slow for _ in range(chunks - 1)]
        words = rng.choice(pools[i % prompts]) if pools else answer()
        out.append(RequestOutcome(
            model="bench/m", step=0, concurrency=n, seq=i, start_offset_ms=rng.uniform(0, 50),
            status="ok", answered_by="bench/m", request_ttft_ms=rng.gauss(200, 5) * slow,
            total_ms=200 + sum(itl), itl_ms=itl, attempts=1, input_tokens=12, output_tokens=chunks,
            cost_usd=1e-6 * chunks, response_ids=[f"r{i}"], input_index=i % prompts, text=" ".join(words)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--chunks", type=int, default=20)
    ap.add_argument("--prompts", type=int, default=1)
    ap.add_argument("--distinct", type=int, default=0, help="distinct answers per prompt (0: every answer its own)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    outs = outcomes(args.requests, args.chunks, args.prompts, distinct=args.distinct)
    summarize(outs, 10.0)  # imports (numpy) out of the timed runs
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        _similarity.cache_clear()
        summarize(outs, 10.0)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(18)
    cpu = []
    for _ in range(args.repeat):
        _similarity.cache_clear()  # each run as the first summary of a run meets its answers
        t0 = time.process_time()
        summarize(outs, 10.0)
        cpu.append(time.process_time() - t0)
    load = os.getloadavg()[0]
    print(f"summarize: {args.requests:,} requests x {args.chunks} chunks, {args.prompts} prompt(s), "
          f"{args.distinct or 'all'} distinct answers per prompt: "
          f"CPU min {min(cpu) * 1000:.0f} ms, median {statistics.median(cpu) * 1000:.0f} ms "
          f"of {args.repeat} (load average {load:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
