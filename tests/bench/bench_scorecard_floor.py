"""What a first scorecard at 100k answers pays before it combines a single figure, on this machine.

A first `desk scorecard --json` (its cache empty) must start Python and import desk and numpy,
read every answer's and rating's few figures (desk's own reads: ResponseTable.figures,
RatingTable.figures), and draw the cost intervals' 2,000 resamples of every model's answers
(the intervals' definition: desk.core.statistics.bootstrap_ratio_intervals). This prints each,
their sum, and what the 0.5 s target of issue 21 leaves for everything else; what the
resamples cost when no two models have as many answers (each count draws its own); and
whether a second core takes the resampling off the first (a thread of the same process, or a
child process, counting the resamples beside desk's reads):

    python -m tests.bench.bench_scorecard_floor [--answers 100000] [--repeat 3] [--cache FOLDER]

The store is the bench's own (tests/bench/bench_store.py builds and caches it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.bench_store import MODELS, TARGET_SCORECARD_S, build, store_path

_START = "import desk.cli, desk.engine.services.ratings, desk.engine.scorecard, numpy"


def start_s(repeat: int) -> float:
    """Wall time of a fresh `python -c` that imports what a scorecard imports (min of `repeat`)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", _START], check=True)
        best = min(best, time.perf_counter() - t0)
    return best


def reads_s(db: Path, repeat: int) -> tuple[float, float]:
    """(answers, ratings): wall time of desk's reads of the whole store's figures (min of
    `repeat`), the cyclic collector paused as a scorecard pauses it."""
    from desk.core.collections_paused import collections_paused
    from desk.core.rating import RatingFilter
    from desk.store import open_store

    store = open_store(db)
    try:
        answers = ratings = float("inf")
        for _ in range(repeat):
            with collections_paused():
                t0 = time.perf_counter()
                store.responses.figures(RatingFilter(), load_runs=False)
                t1 = time.perf_counter()
                store.ratings.figures(RatingFilter())
                t2 = time.perf_counter()
            answers, ratings = min(answers, t1 - t0), min(ratings, t2 - t1)
        return answers, ratings
    finally:
        store.close()


def _cost_data(n: int):
    import numpy as np

    rng = np.random.default_rng(0)
    per_model = n // len(MODELS)
    return [(np.round(rng.gamma(2.0, 0.0011, per_model), 10), (rng.random(per_model) < 0.5).astype(float))
            for _ in MODELS]


def intervals_s(n: int, repeat: int) -> float:
    """Wall time of the cost intervals alone for the bench's 6 models of n / 6 answers each."""
    from desk.core.statistics import bootstrap_ratio_intervals

    data, best = _cost_data(n), float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        bootstrap_ratio_intervals(data, seed=0, n_resamples=2000)
        best = min(best, time.perf_counter() - t0)
    return best


def second_core(db: Path, n: int) -> tuple[float, float]:
    """(desk's reads of the store's figures alone, the same while a child process draws and
    counts the cost intervals' resamples on the other core), in seconds: whether the
    resampling could be taken off the first core's Python work."""
    alone = sum(reads_s(db, 3))
    pid = os.fork()
    if pid == 0:  # the child: numpy's work only, then gone without Python's teardown
        try:
            intervals_s(n, 2)
        finally:
            os._exit(0)
    beside = sum(reads_s(db, 1))
    os.waitpid(pid, 0)
    return alone, beside


def a_thread_beside(db: Path, n: int) -> tuple[float, float]:
    """(desk's reads, everything) in seconds while a thread of this process draws the cost
    intervals' resamples beside them (numpy lets go of the GIL while it draws and counts):
    whether a thread could take the resampling off the reads' path (min of 3)."""
    import threading

    reads = both = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        drawing = threading.Thread(target=intervals_s, args=(n, 1))
        drawing.start()
        read = sum(reads_s(db, 1))
        drawing.join()
        reads, both = min(reads, read), min(both, time.perf_counter() - t0)
    return reads, both


def different_counts_s(n: int) -> float:
    """Wall time of the cost intervals for 6 models of about n / 6 answers each, no two as
    many (most real stores): each count draws its own resamples, as the definition says."""
    import numpy as np

    from desk.core.statistics import bootstrap_ratio_intervals

    rng = np.random.default_rng(0)
    per_model = n // len(MODELS)
    data = [(np.round(rng.gamma(2.0, 0.0011, per_model + k), 10), (rng.random(per_model + k) < 0.5).astype(float))
            for k in range(len(MODELS))]
    t0 = time.perf_counter()
    bootstrap_ratio_intervals(data, seed=0, n_resamples=2000)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--answers", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()),
                    help="folder of the built stores (reused between runs, as bench_store's)")
    args = ap.parse_args(argv)
    db = build(args.answers, store_path(args.answers, args.cache))
    start = start_s(args.repeat)
    answers, ratings = reads_s(db, args.repeat)
    intervals = intervals_s(args.answers, args.repeat)
    floor = start + answers + ratings + intervals
    print(f"{args.answers} answers ({db}), {os.cpu_count()} cores, min of {args.repeat}:")
    print(f"  Python start and imports          {start:6.3f} s")
    print(f"  reading the answers' figures      {answers:6.3f} s")
    print(f"  reading the ratings' figures      {ratings:6.3f} s")
    print(f"  cost intervals' resamples alone   {intervals:6.3f} s")
    print(f"  floor before combining any figure {floor:6.3f} s; the {TARGET_SCORECARD_S} s target leaves "
          f"{TARGET_SCORECARD_S - floor:+.3f} s for all the rest")
    print(f"  ... when no two models have as many answers (most real stores): the resamples {different_counts_s(args.answers):.3f} s")
    reads, both = a_thread_beside(db, args.answers)
    print(f"  the reads {reads:.3f} s while a thread of the same process resamples; both done at {both:.3f} s "
          f"(one after the other: {answers + ratings + intervals:.3f} s)")
    if hasattr(os, "fork"):
        alone, beside = second_core(db, args.answers)
        print(f"  the reads {alone:.3f} s alone, {beside:.3f} s while another process resamples "
              f"({beside - alone:+.3f} s of the resampling's {intervals:.3f} s come back on the first core)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
