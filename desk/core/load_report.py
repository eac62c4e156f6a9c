"""A load run's summary in words: the figures of `desk.core.load.summarize` as the Load tab's
table cells and as `desk load`'s terminal table, from one set of rules.

Both front-ends read the same decisions here (a cost nobody priced is "no price", never $0;
a cost that sums only some requests is a lower bound; where throttling began; the event
loop's lag); they differ only in their alphabet: the window writes "–", "≥" and units in the
cells, the terminal plain ASCII with units in the header.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from desk.core.figures import fmt_cost, fmt_ms

Figures = dict[str, Any]  # one model's figures (desk.core.load.summarize)


@dataclass(frozen=True)
class Style:
    """How one front-end writes a figure."""

    none: str  # no figure
    at_least: str  # before a cost that sums only the priced requests
    ms: Callable[[float | None], str]
    usd: Callable[[float], str]


def _plain_ms(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f}"


WINDOW = Style(none="–", at_least="≥ ", ms=fmt_ms, usd=fmt_cost)
TERMINAL = Style(none="-", at_least=">=", ms=_plain_ms, usd=lambda v: f"${v:.6f}")


def usd(f: Figures, key: str, style: Style = WINDOW) -> str:
    """A cost figure: "no price" (never $0) when no request was priced; "≥" when some were
    not, since the figure then sums only the priced ones."""
    v = f.get(key)
    if v is None:
        return "no price" if f.get("cost_unknown") else style.none
    return (style.at_least if f.get("cost_partial") else "") + style.usd(v)


def _num(v: float | None, fmt: str = "{:.1f}", style: Style = WINDOW) -> str:
    return style.none if v is None else fmt.format(v)


# --- the Load tab's table -------------------------------------------------------------------


def _ms3(p: Figures | None) -> str:
    if not p or p.get("p50") is None:
        return "–"
    return " / ".join(fmt_ms(p.get(k)) for k in ("p50", "p95", "p99"))


def _cost(f: Figures) -> str:
    text = usd(f, "cost_usd")
    unknown = f.get("cost_unknown")
    return f"{text} · {unknown} no price" if unknown and f.get("cost_usd") is not None else text


def _itl_p95(f: Figures) -> str:
    p = f.get("itl_ms") or {}
    p95, ci = p.get("p95"), p.get("p95_ci")
    if p95 is None or not ci:
        return fmt_ms(p95)
    if max(p95, ci[1]) < 1000:  # one unit for the three: "12 ms (10–14)"
        return f"{p95:.0f} ms ({ci[0]:.0f}–{ci[1]:.0f})"
    return f"{fmt_ms(p95)} ({fmt_ms(ci[0])}–{fmt_ms(ci[1])})"


def _fallbacks(f: Figures) -> str:
    n, answered = f.get("fallbacks", 0), f.get("fallbacks_answered")
    return f"{n} ({answered} answered)" if n and answered is not None else str(n)


def _spread(f: Figures) -> str:
    s = f.get("latency_spread_ms")
    return "–" if not s else f"IQR {fmt_ms(s['iqr'])} · sd {fmt_ms(s['stdev'])}"


def _errors(f: Figures) -> str:
    errors = f.get("errors") or {}
    n = sum(errors.values())
    if not n:
        return "0"
    return f"{n} (" + ", ".join(f"{k} {v}" for k, v in errors.items()) + ")"


def _knee(f: Figures) -> str:
    if "knee_concurrency" not in f:
        return "–"  # no p95 budget was set
    return "not reached" if f["knee_concurrency"] is None else str(f["knee_concurrency"])


def _throttled(f: Figures) -> str:
    t = f.get("throttling")
    if not t:
        return "no 429" if "throttling" in f else "–"
    rate = t.get("request_rate_rps")
    return (f"at {t['first_429_at_s']:.2f} s · concurrency {t['concurrency']} · "
            + ("–" if rate is None else f"{rate:,.1f} req/s"))


def _stability(f: Figures) -> str:
    s = f.get("stability")
    if not s:
        return "–"
    return f"{s['exact_match_rate'] * 100:.0f}% exact · {s['mean_similarity']:.2f} similar"


SUMMARY_COLUMNS: list[tuple[str, Callable[[Figures], str]]] = [
    ("Requests", lambda f: str(f.get("requests", 0))),
    ("OK", lambda f: str(f.get("ok", 0))),
    ("Errors", _errors),
    ("Request TTFT p50 / p95 / p99", lambda f: _ms3(f.get("ttft_ms"))),
    ("Total p50 / p95 / p99", lambda f: _ms3(f.get("total_ms"))),
    ("ITL p95 (95% CI)", _itl_p95),
    ("Throughput", lambda f: _num(f.get("throughput_rps"), "{:.1f} req/s")),
    ("Output tok/s", lambda f: _num(f.get("output_tokens_per_s"), "{:.0f}")),
    ("Retries", lambda f: str(f.get("retries", 0))),
    ("Retries / success", lambda f: _num(f.get("retries_per_success"), "{:.2f}")),
    ("429s", lambda f: str(f.get("rate_limited", 0))),
    ("Retry wait", lambda f: fmt_ms(f.get("retry_wait_ms")) if f.get("retry_wait_ms") else "0"),
    ("Fallbacks", _fallbacks),
    ("Cost", _cost),
    ("Cost / request", lambda f: usd(f, "cost_per_request_usd")),
    ("Cost / success", lambda f: usd(f, "cost_per_success_usd")),
    ("Knee concurrency", _knee),
    ("Throttling began", _throttled),
    ("Latency spread", _spread),
    ("Stability", _stability),
]
SUMMARY_TIPS = {
    "Request TTFT p50 / p95 / p99": "From the request's start to the first token of the answer that came back: "
                                    "retries, their waits and fallbacks included",
    "ITL p95 (95% CI)": "Inter-token latency: gaps between streamed chunks; the interval resamples whole requests",
    "Fallbacks": "Requests that needed the next model in the chain (how many it then answered)",
    "Cost": "Every attempt on every model. '≥': some requests used tokens at no known price, not counted",
    "Latency spread": "Spread of total latency over the ok requests: the middle half (IQR) and standard deviation",
}
SUMMARY_HEADERS = ["Model", *(name for name, _ in SUMMARY_COLUMNS)]


def summary_rows(summary: dict[str, Any] | None) -> list[list[str]]:
    """The Load tab's table: one row per model, its name first, in SUMMARY_HEADERS order."""
    models = (summary or {}).get("models") or {}
    return [[model, *(cell(figures) for _, cell in SUMMARY_COLUMNS)] for model, figures in models.items()]


def throttling_line(summary: dict[str, Any] | None) -> str:
    """Where throttling began, for the line under the table ("" when nothing was throttled)."""
    t = (summary or {}).get("throttling")
    if not t:
        return ""
    rate = t.get("request_rate_rps")
    pace = f"{rate:,.1f} req/s over the {t['window_s']:g} s before it" if rate is not None else "at once"
    return (f"Throttling began {t['first_429_at_s']:.2f} s into the run: {t['model']} answered its first 429 "
            f"at concurrency {t['concurrency']}, {pace} ({t['requests_before']} requests sent before it, "
            f"{t['in_flight']} in flight).")


def lag_line(lag: dict[str, Any] | None) -> tuple[str, str | None]:
    """(the event-loop lag line, its warning or None) for a run's summary."""
    if not lag or not lag.get("samples"):
        return "", None
    text = (f"desk's own event-loop lag during the run: p50 {_num(lag.get('p50_ms'), '{:.1f} ms')} · "
            f"p99 {_num(lag.get('p99_ms'), '{:.1f} ms')} · max {_num(lag.get('max_ms'), '{:.1f} ms')} "
            f"({lag['samples']} samples)")
    return text, lag.get("warning")


def cluster_lines(summary: dict[str, Any] | None) -> list[str]:
    """Where a cluster run's workers ran, each one's clock offset against the head (see
    desk.core.clock_offset), and what a lost worker had in flight; [] for a run on one machine."""
    c = (summary or {}).get("cluster")
    if not c:
        return []
    n = len(c["workers"])
    lines = [f"Ran on the Ray cluster at {c['address']} ({n} worker{'s' if n != 1 else ''}; {c.get('clock', '')}):"]
    for w in c["workers"]:
        clock = (f"clock offset {w['offset_ms']:+.3f} ms ± {w['uncertainty_ms']:.3f} ms" if "offset_ms" in w
                 else "clock offset not measured")
        lines.append(f"  worker {w['worker']} on {w['node'] or 'an unknown node'}: {clock}")
    for lost in c.get("lost_in_flight", []):
        inputs = ", ".join(str(i + 1) for i in lost["inputs"]) or "none"
        unsent = "" if lost["not_sent"] is None else f"; {lost['not_sent']} of its share never sent"
        when = "before the first step" if lost["step"] is None else f"in step {lost['step'] + 1}"
        lines.append(f"  worker {lost['worker']} was lost {when}: {lost['requests']} "
                     f"requests in flight were never reported (prompts {inputs}){unsent}")
    return lines


# --- `desk load`'s terminal table ------------------------------------------------------------


def throttling_text(t: dict[str, Any]) -> str:
    """Where throttling began, in one sentence (a `throttling` dict of the summary)."""
    rate = t.get("request_rate_rps")
    pace = (f"{rate:,.1f} req/s over the {t['window_s']:g} s before it"
            if rate is not None else "at the very start of the run")
    return (f"throttling began {t['first_429_at_s']:.2f} s into the run (first 429): concurrency "
            f"{t['concurrency']}, {pace}, {t['requests_before']} requests sent before it, {t['in_flight']} in flight")


def throttling_lines(summary: dict[str, Any]) -> list[str]:
    lines = []
    shown = set()
    for model, f in summary["models"].items():
        if f.get("throttling"):
            lines.append(f"{model}: {throttling_text(f['throttling'])}")
            shown.add(model)
    overall = summary.get("throttling")
    if overall and overall.get("model") not in shown:  # a fallback model was the one throttled
        lines.append(f"{overall['model']}: {throttling_text(overall)}")
    if not lines and "throttling" in summary:
        lines.append("throttling: none (no request was answered 429)")
    return lines


def _with_ci(p: Figures) -> str:
    ci = p.get("p95_ci")
    return _plain_ms(p.get("p95")) + (f" ({_plain_ms(ci[0])}-{_plain_ms(ci[1])})" if ci else "")


def _terminal_row(model: str, f: Figures) -> tuple[str, ...]:
    ms = _plain_ms
    t, tot, s = f["ttft_ms"], f["total_ms"], f.get("latency_spread_ms")
    answered = f.get("fallbacks_answered")
    return (model, f"{f['ok']}/{f['requests']}", ", ".join(f"{k} {n}" for k, n in f["errors"].items()) or "-",
            f"{ms(t['p50'])}/{ms(t['p95'])}/{ms(t['p99'])}",
            f"{ms(tot['p50'])}/{ms(tot['p95'])}/{ms(tot['p99'])}",
            _with_ci(f["itl_ms"]),
            _num(f["throughput_rps"], style=TERMINAL),
            str(f["retries"]),
            _num(f.get("retries_per_success"), "{:.2f}", TERMINAL),
            str(f["rate_limited"]),
            str(f["fallbacks"]) + (f" ({answered} ok)" if f["fallbacks"] and answered is not None else ""),
            usd(f, "cost_per_request_usd", TERMINAL), usd(f, "cost_per_success_usd", TERMINAL),
            "-" if not s else f"{ms(s['iqr'])}/{ms(s['stdev'])}")


TERMINAL_HEADER = ("model", "ok/req", "errors", "request TTFT p50/p95/p99 ms", "total p50/p95/p99 ms", "ITL p95 ms (95% CI)",
                   "req/s", "retries", "retries/ok", "429s", "fallbacks", "cost/req", "cost/success",
                   "spread IQR/sd ms")


def table_lines(run_id: str, status: str, summary: dict[str, Any]) -> list[str]:
    """`desk load`'s report: the table, then what needs a sentence (unpriced requests, the
    p95 per step, the knee, throttling, the event loop's lag)."""
    lines = [f"load run {run_id} ({status}, {summary['wall_s']:.1f} s)"]
    rows = [TERMINAL_HEADER, *(_terminal_row(model, f) for model, f in summary["models"].items())]
    widths = [max(len(r[i]) for r in rows) for i in range(len(TERMINAL_HEADER))]
    for i, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    for model, f in summary["models"].items():
        if f.get("cost_unknown"):
            lines.append(f"{model}: {f['cost_unknown']} requests had no known price: "
                         + ("its costs count only the priced ones (>=)" if f.get("cost_partial") else "no cost shown"))
    if len(summary["steps"]) > 1:
        lines.append("\np95 total by concurrency:")
        for s in summary["steps"]:
            cells = ", ".join(f"{m} {_plain_ms(f['total_ms']['p95'])} ms" for m, f in s["models"].items())
            lines.append(f"  {s['concurrency']:>5}: {cells}")
    for model, f in summary["models"].items():
        if f.get("knee_concurrency") is not None:
            lines.append(f"{model}: p95 first exceeded the {summary['p95_budget_ms']:g} ms budget at concurrency "
                         f"{f['knee_concurrency']}")
    lines.extend(throttling_lines(summary))
    lines.extend(cluster_lines(summary))
    lag = summary["event_loop_lag"]
    if lag.get("p99_ms") is not None:
        lines.append(f"desk's own event-loop lag: p99 {lag['p99_ms']:.1f} ms, max {lag['max_ms']:.1f} ms")
    if lag.get("warning"):
        lines.append(f"warning: {lag['warning']}")
    return lines
