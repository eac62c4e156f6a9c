"""How fast desk frames one huge stream line arriving in small chunks (SSE and NDJSON).

Framing must be linear in the bytes received: before, every chunk re-copied and
re-searched the pending line, so a 20 MB line took 3.5 s (50 MB: 18.6 s) and held the
event loop, and every other stream's arrival stamps, for that long.

    python -m tests.bench.bench_framing [--mb 20] [--chunk 4096]
"""

from __future__ import annotations

import argparse
import time

from desk.providers.framing import NDJSONDecoder, SSEDecoder

TARGET_S_PER_20_MB = 0.5


def frame(decoder_cls: type, mb: int, chunk: int) -> float:
    line = b'data: {"x":"' + b"a" * (mb * 2**20) + b'"}\n\n'
    decoder = decoder_cls(max_line=len(line) + 1)
    t0 = time.perf_counter()
    events = 0
    for i in range(0, len(line), chunk):
        events += len(decoder.feed(line[i:i + chunk], 0.0))
    took = time.perf_counter() - t0
    assert events == 1
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=20)
    ap.add_argument("--chunk", type=int, default=4096)
    args = ap.parse_args()
    bound = TARGET_S_PER_20_MB * args.mb / 20
    ok = True
    for cls in (SSEDecoder, NDJSONDecoder):
        took = frame(cls, args.mb, args.chunk)
        ok &= took <= bound
        print(f"{cls.__name__}: one {args.mb} MB line in {args.chunk} B chunks framed in {took:.3f} s "
              f"({args.mb / took:.0f} MB/s); target <= {bound:.2f} s: {'PASS' if took <= bound else 'FAIL'}")
    print(f"overall: {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
