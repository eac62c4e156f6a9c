"""One wording for a load run's summary: the Load tab's cells and `desk load`'s table read
the same rules (desk.core.load_report), each in its own alphabet."""

from __future__ import annotations

from desk.core.load_report import SUMMARY_HEADERS, lag_line, summary_rows, table_lines, throttling_line

THROTTLED = {"model": "p/a", "first_429_at_s": 2.5, "concurrency": 8, "request_rate_rps": 12.0, "window_s": 2.5,
             "requests_before": 30, "in_flight": 4}


def figures(**over):
    f = {"requests": 10, "ok": 8, "errors": {"server_error": 2}, "ttft_ms": {"p50": 90.0, "p95": 1500.0, "p99": 2000.0},
         "total_ms": {"p50": 400.0, "p95": 900.0, "p99": 950.0}, "itl_ms": {"p95": 12.0, "p95_ci": [10.0, 14.0]},
         "throughput_rps": 4.0, "output_tokens_per_s": 100.0, "retries": 3, "retries_per_success": 0.375,
         "rate_limited": 1, "retry_wait_ms": 1200.0, "fallbacks": 2, "fallbacks_answered": 1,
         "cost_usd": 0.5, "cost_unknown": 1, "cost_partial": True, "cost_per_request_usd": 0.05,
         "cost_per_success_usd": 0.0625, "throttling": THROTTLED, "latency_spread_ms": {"iqr": 100.0, "stdev": 50.0},
         "stability": None}
    return {**f, **over}


def summary(**models):
    return {"wall_s": 2.0, "models": models, "steps": [{"concurrency": 8, "models": models}],
            "throttling": THROTTLED, "event_loop_lag": {"samples": 20, "p50_ms": 0.5, "p99_ms": 2.0, "max_ms": 3.0}}


def cell(rows, model, header):
    return next(r for r in rows if r[0] == model)[SUMMARY_HEADERS.index(header)]


def test_a_partly_priced_cost_is_a_lower_bound_and_an_unpriced_one_no_price_in_both_front_ends():
    unpriced = figures(cost_usd=None, cost_partial=False, cost_per_request_usd=None, cost_per_success_usd=None)
    s = summary(**{"p/a": figures(), "p/b": unpriced})
    rows = summary_rows(s)
    assert cell(rows, "p/a", "Cost") == "≥ $0.5000 · 1 no price"
    assert cell(rows, "p/a", "Cost / success") == "≥ $0.0625"
    assert cell(rows, "p/b", "Cost") == cell(rows, "p/b", "Cost / request") == "no price"
    lines = table_lines("r1", "done", s)
    a, b = (next(line for line in lines if line.startswith(m + " ")) for m in ("p/a", "p/b"))
    assert ">=$0.050000  >=$0.062500" in a and b.count("no price") == 2
    assert "p/a: 1 requests had no known price: its costs count only the priced ones (>=)" in lines


def test_the_same_figures_read_alike_in_the_window_and_the_terminal():
    s = summary(**{"p/a": figures()})
    [row] = summary_rows(s)
    assert row[0] == "p/a" and len(row) == len(SUMMARY_HEADERS)
    assert cell([row], "p/a", "Request TTFT p50 / p95 / p99") == "90 ms / 1.50 s / 2.00 s"
    assert cell([row], "p/a", "ITL p95 (95% CI)") == "12 ms (10–14)"
    assert cell([row], "p/a", "Errors") == "2 (server_error 2)"
    assert cell([row], "p/a", "Fallbacks") == "2 (1 answered)"
    assert cell([row], "p/a", "Knee concurrency") == "–"  # no budget was set
    assert cell([row], "p/a", "Throttling began") == "at 2.50 s · concurrency 8 · 12.0 req/s"
    lines = table_lines("r1", "done", s)
    assert lines[0] == "load run r1 (done, 2.0 s)"
    assert "90/1,500/2,000" in lines[3] and "12 (10-14)" in lines[3] and "2 (1 ok)" in lines[3]
    assert "p/a: throttling began 2.50 s into the run (first 429): concurrency 8" in "\n".join(lines)
    assert throttling_line(s).startswith("Throttling began 2.50 s into the run: p/a answered its first 429 "
                                         "at concurrency 8, 12.0 req/s")
    assert lines[-1] == "desk's own event-loop lag: p99 2.0 ms, max 3.0 ms"
    assert lag_line(s["event_loop_lag"])[0].endswith("max 3.0 ms (20 samples)")


def test_nothing_measured_reads_as_dashes_not_zeros():
    none = {"p50": None, "p95": None, "p99": None, "p95_ci": None}
    empty = figures(ok=0, errors={}, ttft_ms=none, total_ms=none, itl_ms=none, throughput_rps=None, retries_per_success=None, throttling=None,
                    latency_spread_ms=None, cost_usd=None, cost_unknown=0, cost_partial=False,
                    cost_per_request_usd=None, cost_per_success_usd=None)
    s = {**summary(**{"p/a": empty}), "throttling": None}
    [row] = summary_rows(s)
    assert [cell([row], "p/a", h) for h in ("Errors", "Request TTFT p50 / p95 / p99", "Throughput", "Cost",
                                             "Throttling began")] == ["0", "–", "–", "–", "no 429"]
    assert throttling_line(s) == ""
    assert "throttling: none (no request was answered 429)" in table_lines("r1", "done", s)
