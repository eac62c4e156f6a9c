"""How the scorecard, the exports and a suite run's rating queue and matrix grow with the
store: 1k, 10k and 100k answers.

Builds a store per size through desk's own store API, cached under the temp folder between
runs: one suite run (a suite of a case per trial, the run row with SuiteService.run's spec,
each case's trial and each answer linked to the run as a run's sender links it) of 6 models,
1-2 KB answers with one attempt each, 3% failed, every answer rated by "ana", ~10% also by
"ben", 10% of ratings tagged "X", a preference on 30% of trials. Then it runs each command
in a child process and prints its wall time, CPU time and peak RSS (first run, and min and
median of --repeat):

  desk scorecard --json           desk scorecard --json --tag X
  desk export --format csv|jsonl|parquet|pairs
  rating queue (ana)              run matrix

The last two have no CLI: a `python -c` child opens the store as the app does and calls
Engine.suites.rating_queue(run, "ana") (the Suites tab's Rate queue) or Engine.suites.matrix(run)
(its run matrix); their times are the call's alone (not the child's start, nor opening the
store, nor building Engine.suites, whose imports an app pays once), their memory the child's
peak, and the child checks they found every answer and rating.

    python -m tests.bench.bench_store [--answers 1000 10000 100000] [--repeat 3]
        [--only scorecard|export|queue|matrix|run|reading|compare|list] [--compiled]

A scorecard's first run computes it (the store's cache of scorecards is emptied before it);
the next ones read it from that cache. This store's models have as many answers each, so
their cost intervals share one set of draws; a line beside says what the intervals cost
when the counts differ, as in most real stores.

At 100k the targets are judged (PASS/FAIL): scorecard <= 0.5 s and <= 300 MB, the
filtered scorecard <= 0.5 s (their first, computing runs), each export <= 5 s; memory of an
export flat in n; the rating queue <= 0.5 s and the run matrix <= 1.0 s (median), each <= 300 MB.
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
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from desk.core.response import Attempt, ResponseResult, Status, Usage
from desk.core.suite import Case, Suite
from desk.core.trial import GenerationSettings
from desk.store import open_store
from desk.store.sql import transaction
from desk.store.suites import SUITE_RUN

BUILD_VERSION = 2  # bump when the store's shape changes: cached stores are rebuilt (2: the answers are a suite run)
MODELS = tuple(f"bench/model-{k}" for k in range(6))
PROMPT = "Task {}: summarise the attached quarter by region."
SETTINGS = GenerationSettings(temperature=0.7)
TARGET_SCORECARD_S, TARGET_SCORECARD_MB, TARGET_EXPORT_S = 0.5, 300, 5.0
TARGET_QUEUE_S, TARGET_MATRIX_S, TARGET_SUITE_MB = 0.5, 1.0, 300
WORDS = ("the model answered with a careful table of results, then listed caveats about the data "
         "and asked whether the totals should include refunds; ").split()


def store_path(answers: int, folder: Path) -> Path:
    return folder / f"desk-bench-store-{answers}-v{BUILD_VERSION}.db"


def build(answers: int, path: Path, seed: int = 0) -> Path:
    """The store of `answers` answers at `path`, built unless it is there already: one suite
    run of a case per trial, stored as SuiteService.run stores it (its suite, its run row with
    the spec, each case's trial and each answer linked to the run by its cell's number)."""
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
        suite = store.suites.save_suite(Suite("bench", tuple(Case(f"task-{t}", PROMPT.format(t)) for t in range(trials))))
        run_id = store.runs.create(SUITE_RUN, run_spec(suite), "bench")
        ok = 0
        for start in range(0, trials, 500):  # one transaction per 500 trials: batch, not per row
            with transaction(store.db):
                for t in range(start, min(start + 500, trials)):
                    ok += _one_trial(store, rng, rubric, t0 + t * 60.0, t, run_id, suite.cases[t])
        sent = trials * len(MODELS)
        store.runs.finish(run_id, "done", {"sent": sent, "ok": ok, "failed": sent - ok, "skipped": 0,
                                           "not_stored": 0, "conditions": []})
    finally:
        store.close()
    for suffix in ("-wal", "-shm"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    partial.rename(path)
    return path


def run_spec(suite: Suite) -> dict[str, Any]:
    """The run row's spec as SuiteService.run stores it (desk/engine/services/suites.py)."""
    return {"suite_id": suite.id, "suite": suite.name, "suite_version": suite.version, "cases": len(suite.cases),
            "models": list(MODELS), "repeat": 1, "concurrency": 8, "total": len(suite.cases) * len(MODELS),
            "settings": SETTINGS.as_dict(), "max_turns": 2}


def _one_trial(store, rng: random.Random, rubric: str | None, when: float, number: int, run_id: str,
               case: Case) -> int:
    """Store the case's trial, its answers (linked to the run) and their ratings; how many answers are ok."""
    trial_id = store.suites.cell_trial(run_id, case, 0)
    ids, oks = [], 0
    for m, model in enumerate(MODELS):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(170, 340)))[: rng.randint(1024, 2048)]
        ok = rng.random() > 0.03
        oks += ok
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
        store.suites.link_response(result.id, run_id, case.position * len(MODELS) + m)  # the cell's seq, repeat 1
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
    return oks


def compile_desk() -> None:
    """desk's modules compiled to bytecode beside them (__pycache__, as an installed desk has
    them): a checkout run with PYTHONDONTWRITEBYTECODE=1 compiles every module it imports on
    every run, 0.06 s of a scorecard's CPU (measured)."""
    import compileall

    import desk
    compileall.compile_dir(str(Path(desk.__file__).parent), quiet=1)


def run_child(argv: list[str], *, output: bool = False) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MB, stderr) of `python ARGV` in a child process (with
    `output`, its stdout and stderr together: what it prints, read)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *argv], stdout=subprocess.PIPE if output else subprocess.DEVNULL,
                            stderr=subprocess.STDOUT if output else subprocess.PIPE,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    pipe = proc.stdout if output else proc.stderr
    err = pipe.read().decode() if pipe else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"python {' '.join(argv)} failed ({proc.returncode}):\n{err[-2000:]}")
    rss_mb = usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / 2**20
    return wall, usage.ru_utime + usage.ru_stime, rss_mb, err


def measure(args: list[str]) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MB, stderr) of `python -m desk ARGS` in a child process."""
    return run_child(["-m", "desk", *args])


# The child that times one of the Suites tab's reads of a run (no CLI has them): it opens the
# store as the app does, builds the engine's suites service, times the call alone, then prints the call's wall and CPU seconds and
# what it found, for the parent to check (a fast read must still find every answer and rating).
SUITE_CALL = """
import sys, time
from desk.engine.application import Application
db, run_id, what = sys.argv[1:]
engine = Application.open(db).engine(warm_prices=False)
engine.suites  # built on first use: its imports (~0.2 s, once per app) are not the call's
t0, c0 = time.perf_counter(), time.process_time()
if what == "queue":
    found = engine.suites.rating_queue(run_id, "ana")
elif what == "matrix":
    found = engine.suites.matrix(run_id)
elif what == "reading":
    found = engine.suites.run_reading(run_id, tuple(engine.suites.run_info(run_id).models[:2]))
elif what == "compare":
    found = engine.suites.compare_runs(run_id, run_id)
else:
    found = engine.suites.list_runs()
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
if what == "queue":
    counts = (len(found), sum(len(i.response_ids) for i in found), sum(len(i.rated) for i in found))
elif what == "matrix":
    counts = (len(found.cells), sum(c.response_id is not None for c in found.cells),
              sum(c.human is not None for c in found.cells))
elif what == "reading":
    counts = (len(found.scores), sum(s.n_answers for s in found.scores), sum(s.n_rated for s in found.scores))
    assert found.comparison is not None and found.comparison.pairs
elif what == "compare":
    counts = (len(found.models), sum(m.pairs for m in found.models), sum(m.rates[0].n for m in found.models))
else:
    counts = (len(found), found[0].done + found[0].failed, found[0].total)
print("desk-bench-call", wall, cpu, *counts)
"""


def measure_call(db: Path, run_id: str, what: str, answers: int) -> tuple[float, float, float]:
    """(wall s, CPU s of the call alone, the child's peak RSS MB) of `SUITE_CALL` for `what`
    (queue: the rating queue of "ana"; matrix: the run's matrix) on the bench store of `answers`."""
    _, _, rss, out = run_child(["-c", SUITE_CALL, str(db), run_id, what], output=True)
    line = next((x for x in out.splitlines() if x.startswith("desk-bench-call ")), None)
    if line is None:
        raise SystemExit(f"the {what} child printed no figures:\n{out[-2000:]}")
    wall, cpu, *counts = line.split()[1:]
    trials = max(1, answers // len(MODELS))
    total = trials * len(MODELS)
    # queue: an item per trial, every answer in one, each rated by ana; matrix: a cell per answer, each
    # rated; reading: every model's answers, each rated; compare (the run with itself): every answer a
    # pair, each with a success verdict; list: the run, every cell done or failed
    expected = {"queue": (trials, total, total), "matrix": (total, total, total),
                "reading": (len(MODELS), total, total), "compare": (len(MODELS), total, total),
                "list": (1, total, total)}[what]
    if tuple(int(c) for c in counts) != expected:
        raise SystemExit(f"the {what} found {counts} (items or cells, answers, rated), not {list(expected)}")
    return float(wall), float(cpu), rss


def suite_run_id(db: Path) -> str:
    """The id of the bench store's one suite run."""
    with closing(sqlite3.connect(db)) as conn:
        found = conn.execute("SELECT id FROM runs WHERE kind = ?", (SUITE_RUN,)).fetchall()
    if len(found) != 1:
        raise SystemExit(f"{db}: {len(found)} suite runs, not 1 (a store of an older build?)")
    return str(found[0][0])


Command = tuple[str, str, Callable[[], tuple[float, float, float]]]  # (--only key, name, one measured run)
UNJUDGED = ("run", "reading", "compare", "list")  # printed with no target of their own


def commands(db: Path, out: Path, answers: int) -> list[Command]:
    """Each measured command of the store of `answers` answers at `db`."""
    base = ["--db", str(db)]
    cli = [
        ("scorecard", "scorecard --json", ["scorecard", *base, "--json"]),
        ("scorecard", "scorecard --json --tag X", ["scorecard", *base, "--json", "--tag", "X"]),
        *(("export", f"export {fmt}", ["export", *base, "--format", fmt, "--out", str(out / f"out.{fmt}")])
          for fmt in ("csv", "jsonl", "parquet", "pairs")),
    ]
    found: list[Command] = [(key, name, lambda cmd=cmd: measure(cmd)[:3]) for key, name, cmd in cli]
    run_id = suite_run_id(db)
    for key, name in (("queue", "rating queue (ana)"), ("matrix", "run matrix")):
        found.append((key, name, lambda what=key: measure_call(db, run_id, what, answers)))
    # The run's own scorecard (by expected behaviour, the Suites tab's Scorecard…): no target
    # of its own, printed so its growth shows.
    run_scorecard = ["scorecard", *base, "--json", "--run", run_id]
    found.append(("run", "run scorecard (--run)", lambda: measure(run_scorecard)[:3]))
    # The Suites tab's other reads of a big run, all off its GUI thread but the run list: no
    # target, printed so their growth shows (the list's first run counts the run's cells, the
    # next read the counts the store kept, as every start after the first does: m020).
    for key, name in (("reading", "run scorecard dialog"), ("compare", "compare runs (A = B)"),
                      ("list", "run list")):
        found.append((key, name, lambda what=key: measure_call(db, run_id, what, answers)))
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--answers", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()),
                    help="folder of the built stores (reused between runs)")
    ap.add_argument("--only", default="", help="only the commands starting so (scorecard, export, queue, matrix, run, reading, "
                         "compare, list)")
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


def forget_run_counts(db: Path) -> None:
    with closing(sqlite3.connect(db)) as conn:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'run_counts'").fetchone():
            conn.execute("DELETE FROM run_counts")
            conn.commit()


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
    for key, name, once in commands(db, out, n):
        if args.only and not (key.startswith(args.only) or name.startswith(args.only)):
            continue
        if key in ("scorecard", "run"):
            forget_scorecards(db)  # so the first run computes the figures, the next read them
        if key == "list":
            forget_run_counts(db)  # so the first run counts the cells, the next read the counts kept
        timed = [once() for _ in range(args.repeat)]
        runs = sorted(timed)  # by wall time
        wall_min, wall_median = runs[0][0], runs[len(runs) // 2][0]
        cpu, rss = runs[len(runs) // 2][1], max(r[2] for r in runs)
        # The first run of a scorecard computes it (its CPU and memory beside it), the next
        # read it from the store's cache. The rating queue's and the matrix's figures are the
        # call's alone (the child's start and opening the store left out), their memory the child's.
        print(f"  {name:<26} first {timed[0][0]:6.2f} s (CPU {timed[0][1]:5.2f} s, {timed[0][2]:4.0f} MB)"
              f"  wall min {wall_min:6.2f} s  median {wall_median:6.2f} s  CPU {cpu:6.2f} s  peak RSS {rss:6.0f} MB",
              flush=True)
        if n >= 100_000 and key not in UNJUDGED:
            verdicts.append(judge(key, name, timed[0], wall_median, rss))


def judge(key: str, name: str, first: tuple[float, float, float], wall_median: float, rss: float) -> bool:
    """Print whether the command met its target at 100k; return it."""
    if key in ("queue", "matrix"):
        bound = TARGET_QUEUE_S if key == "queue" else TARGET_MATRIX_S
        ok = wall_median <= bound and rss <= TARGET_SUITE_MB
        print(f"    target: median <= {bound} s, <= {TARGET_SUITE_MB} MB: {'PASS' if ok else 'FAIL'}", flush=True)
        return ok
    plain = name == "scorecard --json"
    scorecard = key == "scorecard"
    bound = TARGET_SCORECARD_S if scorecard else TARGET_EXPORT_S
    # A scorecard is judged by its first run: computing it, not reading the cache.
    wall, rss = (first[0], first[2]) if scorecard else (wall_median, rss)
    ok = wall <= bound and (not plain or rss <= TARGET_SCORECARD_MB)
    memory = f", <= {TARGET_SCORECARD_MB} MB" if plain else ""
    print(f"    target: {'first' if scorecard else 'median'} <= {bound} s{memory}: {'PASS' if ok else 'FAIL'}", flush=True)
    return ok


if __name__ == "__main__":
    raise SystemExit(main())
