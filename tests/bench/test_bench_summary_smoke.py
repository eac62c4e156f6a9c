"""bench_summary runs and prints its figure (small sizes; the figure itself is judged by
reading the full run, not here)."""

from tests.bench.bench_summary import main


def test_summary_benchmark_prints_cpu_time(capsys):
    assert main(["--requests", "200", "--chunks", "5", "--prompts", "3", "--distinct", "2", "--repeat", "2",
                 "--profile"]) == 0
    out = capsys.readouterr().out
    assert "summarize: 200 requests x 5 chunks, 3 prompt(s), 2 distinct answers per prompt: CPU min" in out
    assert "clustered_p95" in out  # the profile names where the time went
