"""A load-run request's time to first token has its own name (issue 13): retries, their
waits and fallbacks are in it, unlike a response's `ttft_ms`; the figures keep their key."""

from __future__ import annotations

from desk.core.load import RequestOutcome, summarize
from desk.core.load_report import SUMMARY_TIPS, TERMINAL_HEADER, summary_rows


def test_the_request_ttft_is_named_apart_and_summarised_under_the_figures_key():
    outcomes = [RequestOutcome("p/a", 0, 1, n, n * 100.0, "ok", request_ttft_ms=ttft, total_ms=ttft + 50)
                for n, ttft in enumerate((100.0, 200.0, 300.0))]
    figures = summarize(outcomes, 1.0)
    assert figures["ttft_ms"]["p50"] == 200.0  # the stored summaries and --json keep their key
    assert "retries" in SUMMARY_TIPS["Request TTFT p50 / p95 / p99"]
    assert "request TTFT p50/p95/p99 ms" in TERMINAL_HEADER
    assert summary_rows({"models": {"p/a": figures}})[0][4].startswith("200 ms")
