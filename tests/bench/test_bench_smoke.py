"""The benchmarks run and print their figures (small sizes; the bounds are judged by the
full runs, which print PASS/FAIL, not by this test)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc.stdout


def test_timing_benchmark_prints_both_concurrencies():
    out = run("tests.bench.bench_timing", "--concurrency", "40", "--sequential", "5", "--delay-ms", "50",
              "--pieces", "5", "--interval-ms", "5")
    assert "concurrency 1: 5 streams" in out and "concurrency 40: 40 streams" in out
    assert out.count("arrival lag") == 2 and out.count("send lag") == 2


def test_lag_benchmark_prints_both_cases_beside_the_reference():
    out = run("tests.bench.bench_lag", "--streams", "30", "--slots", "3", "--delay-ms", "30", "--pieces", "3",
              "--interval-ms", "5")
    assert "30 streams sent at once" in out and "30 streams queueing on 3 server slots" in out
    assert out.count("joined by request id: desk 30/30, reference 30/30") == 2
    for who in ("desk", "reference"):
        for what in ("send lag", "arrival lag"):
            assert out.count(f"{who} {what}") == 2, (who, what)
    assert out.count("target: arrival lag p95 <= 5 ms") == 2 and out.count("target: arrival lag max <= 15 ms") == 2
    assert out.count("target: send lag p95 <= reference") == 2 and "overall:" in out


def test_ui_benchmark_prints_stall_figures():
    out = run("tests.bench.bench_ui", "--panes", "3", "--seconds", "0.5")
    assert "3/3 answers complete" in out
    assert "Qt 5 ms timer" in out and "asyncio 5 ms sleep" in out and "target: p99" in out
    assert "CPU while streaming" in out and "GUI thread" in out


def test_framing_benchmark_prints_both_decoders():
    out = run("tests.bench.bench_framing", "--mb", "2")
    assert "SSEDecoder: one 2 MB line" in out and "NDJSONDecoder: one 2 MB line" in out and "overall:" in out


def test_store_benchmark_prints_each_command(tmp_path):
    out = run("tests.bench.bench_store", "--answers", "60", "--repeat", "1", "--cache", str(tmp_path))
    assert "60 answers: store" in out
    for name in ("scorecard --json  ", "scorecard --json --tag X", "export csv", "export jsonl", "export parquet",
                 "export pairs", "rating queue (ana)", "run matrix", "run scorecard (--run)", "run scorecard dialog",
                 "compare runs (A = B)", "run list"):
        assert out.count(name) == 1, name
    assert out.count("peak RSS") == 13 and "FAIL" not in out


def test_scorecard_floor_prints_each_part_and_their_sum(tmp_path):
    out = run("tests.bench.bench_scorecard_floor", "--answers", "60", "--repeat", "1", "--cache", str(tmp_path))
    for part in ("Python start and imports", "reading the answers' figures", "reading the ratings' figures",
                 "cost intervals' resamples alone", "floor before combining any figure"):
        assert out.count(part) == 1, part


def test_store_benchmark_runs_only_the_commands_asked(tmp_path):
    out = run("tests.bench.bench_store", "--answers", "60", "--repeat", "1", "--cache", str(tmp_path),
              "--only", "export")
    assert "export csv" in out and "export pairs" in out and "scorecard" not in out and "rating queue" not in out
    out = run("tests.bench.bench_store", "--answers", "60", "--repeat", "1", "--cache", str(tmp_path),
              "--only", "queue")
    assert "rating queue (ana)" in out and "run matrix" not in out and "export" not in out and "scorecard" not in out
    out = run("tests.bench.bench_store", "--answers", "60", "--repeat", "1", "--cache", str(tmp_path),
              "--only", "matrix")
    assert "run matrix" in out and "rating queue" not in out and "export" not in out


def test_window_store_benchmark_prints_each_step(tmp_path):
    out = run("tests.bench.bench_window_store", "--answers", "60", "--cache", str(tmp_path))
    assert "the window on a store of 60 answers" in out
    for step in ("Suites tab shown", "the big run opened", "Rate this run… opened", "its Scorecard… shown",
                 "Compare runs… shown", "whole scorecard computed", "Trials tab, a trial opened"):
        assert out.count(step) == 1, step
    assert "overall:" in out
