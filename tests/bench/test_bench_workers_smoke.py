"""The worker benchmark runs and prints its figures (small sizes; its bounds are judged by
the full run, which prints PASS/FAIL, not by this test)."""

import pytest

from tests.bench.test_bench_smoke import run


@pytest.mark.slow
def test_worker_benchmark_prints_one_and_n_workers_beside_the_reference():
    out = run("tests.bench.bench_workers", "--streams", "20", "--workers", "2", "--delay-ms", "30",
              "--pieces", "3", "--interval-ms", "5", "--reference", "--rounds", "1",
              "--server-processes", "1")
    assert "20 streams sent at once" in out
    for who in ("1 worker", "2 workers", "reference"):
        assert f"{who} " in out and "20/20" in out.split(who, 1)[1].splitlines()[0], who
    assert "target: 2 workers arrival lag p95 <= 10 ms" in out and "overall:" in out
