"""How the scorecard and the exports grow with the store: 1k, 10k and 100k answers.

Builds a store per size through desk's own store API (6 models, 1-2 KB answers with one
attempt each, 3% failed, every answer rated, ~10% by a second rater, 10% of ratings
tagged "X", a preference on 30% of trials), cached under the temp folder between runs,
then runs the CLI in a child process and prints its wall time, CPU time and peak RSS:

  desk scorecard --json           desk scorecard --json --tag X
  desk export --format csv|jsonl|parquet|pairs

    python -m tests.bench.bench_store [--answers 1000 10000 100000] [--repeat 3] [--only scorecard|export] [--compiled]

A scorecard's first run computes it (the store's cache of scorecards is emptied before it);
the next ones read it from that cache. This store's models have as many answers each, so
their cost intervals share one set of draws; a line beside says what the intervals cost
when the counts differ, as in most real stores.

At 100k the targets are judged (PASS/FAIL): scorecard <= 0.5 s and <= 300 MB, the
filtered scorecard <= 0.5 s (their first, computing runs), each export <= 5 s; memory of an export flat in n.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from desk.core.response import Attempt, ResponseResult, Status, Usage
from desk.core.trial import TrialInput
from desk.store import open_store
from desk.store.sql import transaction

BUILD_VERSION = 1  # bump when the store's shape changes: cached stores are rebuilt
MODELS = tuple(f"bench/model-{k}" for k in range(6))
TARGET_SCORECARD_S, TARGET_SCORECARD_MB, TARGET_EXPORT_S = 0.5, 300, 5.0
WORDS = ("the model answered with a careful table of results, then listed caveats about the data "
         "and asked whether the totals should include refunds; ").split()


def store_path(answers: int, folder: Path) -> Path:
    return folder / f"desk-bench-store-{answers}-v{BUILD_VERSION}.db"


def build(answers: int, path: Path, seed: int = 0) -> Path:
    """The store of `answers` answers at `path`, built unless it is there already."""
    if path.exists():
        return path
    rng = random.Random(seed)
    partial = path.with_suffix(".partial")
    for leftover in path.parent.glob(partial.name + "*"):
        leftover.unlink()
    store = open_store(partial)
    rubric = store.rubrics.default().id
    trials = max(1, answers // len(MODELS))
    t0 = time.time() - trials * 60.0
    try:
        for start in range(0, trials, 500):  # one transaction per 500 trials: batch, not per row
            with transaction(store.db):
                for t in range(start, min(start + 500, trials)):
                    _one_trial(store, rng, rubric, t0 + t * 60.0, t)
    finally:
        store.close()
    for suffix in ("-wal", "-shm"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    partial.rename(path)
    return path


def _one_trial(store, rng: random.Random, rubric: str | None, when: float, number: int) -> None:
    trial_id = store.trials.create(TrialInput(f"Task {number}: summarise the attached quarter by region."))
    ids = []
    for model in MODELS:
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(170, 340)))[: rng.randint(1024, 2048)]
        ok = rng.random() > 0.03
        total = rng.lognormvariate(7.5, 0.5)
        tokens_in, tokens_out = rng.randint(200, 1200), rng.randint(250, 500)
        cost = round(tokens_in * 1e-6 + tokens_out * 4e-6, 10)
        status = Status.OK if ok else Status.ERROR
        result = ResponseResult(
            id=f"r{number:07d}{model[-1]}", trial_id=trial_id, model=model, settings={"temperature": 0.7},
            status=status, text=text if ok else "", started_at=when, first_token_at=when + 0.3,
            ended_at=when + total / 1000, ttft_ms=300.0, total_ms=total, usage=Usage(tokens_in, tokens_out),
            cost_usd=cost, finish_reason="stop" if ok else None,
            attempts=[Attempt(number=1, started_at=when, ended_at=when + total / 1000, http_status=200 if ok else 500,
                              status=status, total_ms=total, usage=Usage(tokens_in, tokens_out), cost_usd=cost)],
        )
        store.responses.finish(result)
        ids.append(result.id)
        raters = ("ana", "ben") if rng.random() < 0.10 else ("ana",)
        for rater in raters:
            values = {
                "outcome": rng.choice(("success", "success", "partial", "failure")),
                "uncertainty": rng.choice(("confident_correct", "stated_uncertainty", "asked_clarifying",
                                           "confident_wrong")),
                "constraints": rng.choice(("followed", "violated", "na")),
                "quality": rng.randint(1, 5),
            }
            if rng.random() < 0.10:
                values["tags"] = ["X"]
            if not ok:  # a failed answer is rated by its outcome alone
                values = {"outcome": "failure", **({"tags": values["tags"]} if "tags" in values else {})}
            store.ratings.save(result.id, rater, values, rubric_id=rubric)
    if rng.random() < 0.30:
        a, b = rng.sample(ids, 2)
        store.ratings.save_preference(a, b, rng.choice(("a", "b", "tie", "both_bad")), "ana")


def compile_desk() -> None:
    """desk's modules compiled to bytecode beside them (__pycache__, as an installed desk has
    them): a checkout run with PYTHONDONTWRITEBYTECODE=1 compiles every module it imports on
    every run, 0.06 s of a scorecard's CPU (measured)."""
    import compileall

    import desk
    compileall.compile_dir(str(Path(desk.__file__).parent), quiet=1)


def measure(args: list[str]) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MB, stderr) of `python -m desk ARGS` in a child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "desk", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    err = proc.stderr.read().decode() if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"desk {' '.join(args)} failed ({proc.returncode}):\n{err[-2000:]}")
    rss_mb = usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / 2**20
    return wall, usage.ru_utime + usage.ru_stime, rss_mb, err


def cases(db: Path, out: Path) -> list[tuple[str, list[str]]]:
    base = ["--db", str(db)]
    return [
        ("scorecard --json", ["scorecard", *base, "--json"]),
        ("scorecard --json --tag X", ["scorecard", *base, "--json", "--tag", "X"]),
        *((f"export {fmt}", ["export", *base, "--format", fmt, "--out", str(out / f"out.{fmt}")])
          for fmt in ("csv", "jsonl", "parquet", "pairs")),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--answers", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()),
                    help="folder of the built stores (reused between runs)")
    ap.add_argument("--only", default="", help="only the commands starting so (scorecard, export)")
    ap.add_argument("--compiled", action="store_true",
                    help="compile desk's modules to bytecode first (into its __pycache__ folders), as an "
                         "installed desk has them: with PYTHONDONTWRITEBYTECODE=1 a checkout compiles them on every run")
    args = ap.parse_args(argv)
    verdicts: list[bool] = []
    with tempfile.TemporaryDirectory(prefix="desk-bench-store-out-") as out:
        if args.compiled:
            compile_desk()
        print(f"desk runs from {'bytecode compiled beforehand' if args.compiled else 'its sources as found'}"
              f" (PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r})", flush=True)
        for n in args.answers:
            measure_store(n, args, Path(out), verdicts)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bench process peak RSS {peak:.0f} MB")
    if verdicts:
        print(f"overall: {'PASS' if all(verdicts) else 'FAIL'}")
    return 0


def forget_scorecards(db: Path) -> None:
    """Empty the store's scorecard cache (desk.store.scorecard_cache), if it has one yet."""
    with closing(sqlite3.connect(db)) as conn, conn:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'scorecard_cache'").fetchone():
            conn.execute("DELETE FROM scorecard_cache")


def cost_intervals_line(n: int, repeat: int) -> str:
    """CPU of the scorecard's cost intervals alone for the store's 6 models, with as many
    answers each (as this store has: they share their draws) and with counts a few apart (as
    a real store's: each count draws its own 2,000 x n indices), in this process, min of `repeat`."""
    import numpy as np

    from desk.core.statistics import bootstrap_ratio_intervals
    rng = np.random.default_rng(0)
    per_model = n // len(MODELS)

    def data(lengths: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(np.round(rng.gamma(2.0, 0.0011, k), 10), (rng.random(k) < 0.5).astype(float)) for k in lengths]

    figures = []
    for lengths in ([per_model] * len(MODELS), [per_model + 7 * k for k in range(len(MODELS))]):
        made, cpu, wall = data(lengths), float("inf"), float("inf")
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            bootstrap_ratio_intervals(made, seed=0, n_resamples=2000)
            wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
        figures.append(f"CPU {cpu:.2f} s, wall {wall:.2f} s")
    return (f"  cost intervals alone (min of {repeat}): equal answer counts {figures[0]}; "
            f"counts a few apart {figures[1]}")


def print_cost_intervals(n: int, repeat: int) -> None:
    """`cost_intervals_line` from a child process: numpy's memory here would count in the
    peak RSS of every command measured after (a child starts with its parent's)."""
    code = f"from tests.bench.bench_store import cost_intervals_line; print(cost_intervals_line({n}, {repeat}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    print(done.stdout.rstrip(), flush=True)


def measure_store(n: int, args: argparse.Namespace, out: Path, verdicts: list[bool]) -> None:
    """Print each command's figures on the store of `n` answers (built or reused)."""
    t0 = time.perf_counter()
    db = build(n, store_path(n, args.cache))
    print(f"{n} answers: store {db} ({db.stat().st_size / 2**20:.0f} MB, ready in "
          f"{time.perf_counter() - t0:.1f} s)", flush=True)
    if not args.only or "scorecard".startswith(args.only) or args.only.startswith("scorecard"):
        print_cost_intervals(n, args.repeat)
    for name, cmd in cases(db, out):
        if args.only and not name.startswith(args.only):
            continue
        if name.startswith("scorecard"):
            forget_scorecards(db)  # so the first run computes the figures, the next read them
        timed = [measure(cmd)[:3] for _ in range(args.repeat)]
        runs = sorted(timed)  # by wall time
        wall_min, wall_median = runs[0][0], runs[len(runs) // 2][0]
        cpu, rss = runs[len(runs) // 2][1], max(r[2] for r in runs)
        # The first run of a scorecard computes it (its CPU and memory beside it), the next
        # read it from the store's cache.
        print(f"  {name:<26} first {timed[0][0]:6.2f} s (CPU {timed[0][1]:5.2f} s, {timed[0][2]:4.0f} MB)"
              f"  wall min {wall_min:6.2f} s  median {wall_median:6.2f} s  CPU {cpu:6.2f} s  peak RSS {rss:6.0f} MB",
              flush=True)
        if n >= 100_000:
            plain = name == "scorecard --json"
            scorecard = name.startswith("scorecard")
            bound = TARGET_SCORECARD_S if scorecard else TARGET_EXPORT_S
            # A scorecard is judged by its first run: computing it, not reading the cache.
            wall, rss = (timed[0][0], timed[0][2]) if scorecard else (wall_median, rss)
            ok = wall <= bound and (not plain or rss <= TARGET_SCORECARD_MB)
            verdicts.append(ok)
            memory = f", <= {TARGET_SCORECARD_MB} MB" if plain else ""
            print(f"    target: {'first' if scorecard else 'median'} <= {bound} s{memory}: {'PASS' if ok else 'FAIL'}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
