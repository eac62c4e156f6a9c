"""The CPU-per-chunk benchmark runs and prints a figure per protocol (small sizes: the
figures themselves are read by a person, not judged here)."""

from tests.bench.test_bench_smoke import run


def test_chunk_cpu_benchmark_prints_every_protocol():
    out = run("tests.bench.bench_chunk_cpu", "--streams", "20", "--pieces", "3", "--repeat", "20", "--rounds", "1")
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith("  ")}
    for kind in ("openai", "anthropic", "gemini", "ollama"):
        decoder, bulk, load, _extra, _streaming, ok = rows[kind]
        assert float(decoder) > 0 and float(bulk) > 0 and float(load) > 0 and ok == "20", out
