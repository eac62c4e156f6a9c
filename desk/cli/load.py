"""`desk load`: N requests at concurrency C (or a ramp) against one or more models."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from desk.cli.common import EXIT_FAILED, EXIT_OK, CliError, _run
from desk.cli.policy import add_policy_args, timeouts_from
from desk.core.load import RequestOutcome
from desk.core.load_report import table_lines
from desk.engine.load_plan import LoadInput, PlanLabels, build_plan
from desk.engine.policy import RetryPolicy

if TYPE_CHECKING:
    from argparse import _SubParsersAction  # what add_subparsers returns; argparse names no public type

    from desk.engine.application import Application
    from desk.engine.load import LoadPlan, LoadResult, Tallied
    from desk.engine.session import StoredTrial

PCT_KEYS = ("p50", "p90", "p95", "p99")


def register(sub: _SubParsersAction[argparse.ArgumentParser], db: argparse.ArgumentParser) -> None:
    load = sub.add_parser("load", parents=[db], help="measure latency, errors and cost under load")
    load.add_argument("--model", "-m", action="append", metavar="NAME/MODEL", help="required unless --resume")
    src = load.add_mutually_exclusive_group()
    src.add_argument("--resume", metavar="RUN_ID",
                     help="send what a run cut short still had to send, into that run (its own plan; "
                          "--workers and --cluster may change where it is sent from)")
    src.add_argument("--prompt", "-p", metavar="TEXT")
    src.add_argument("--dataset", metavar="FILE", help="CSV or JSONL with a 'prompt' column (optional 'system')")
    src.add_argument("--trial", metavar="TRIAL_ID",
                     help="a stored trial (see desk history): its prompt, system prompt, images and files")
    load.add_argument("--system", metavar="TEXT")
    load.add_argument("--requests", "-n", type=int, default=None,
                      help="requests per model (per step with --ramp); default 100 unless --duration")
    load.add_argument("--concurrency", "-c", type=int, default=10)
    load.add_argument("--ramp", metavar="C1,C2,…", help="steps of concurrency, e.g. 1,8,32,128,512")
    load.add_argument("--duration", type=float, metavar="S", help="seconds per step instead of a count")
    add_policy_args(load, connect=True)
    load.add_argument("--no-retry-after", action="store_true", help="back off without honouring Retry-After")
    load.add_argument("--backoff-base", type=float, default=RetryPolicy().base_delay, metavar="S",
                      help="first retry's backoff, doubled each retry (with jitter) up to --backoff-max")
    load.add_argument("--backoff-max", type=float, default=RetryPolicy().max_delay, metavar="S",
                      help="longest backoff between retries")
    load.add_argument("--fallback", action="append", default=[], metavar="NAME/MODEL",
                      help="next model to try when one fails after its retries (repeatable, in order)")
    load.add_argument("--budget-ms", type=float, help="p95 total latency budget: report the knee concurrency")
    load.add_argument("--temperature", type=float)
    load.add_argument("--max-tokens", type=int)
    load.add_argument("--no-warmup", action="store_true", help="do not send one unmeasured request per model first")
    load.add_argument("--workers", type=int, default=0, metavar="N",
                      help="worker processes sharing the streams, each with its own event loop "
                           "(default: one per 500 streams of the widest step, at most one per core)")
    load.add_argument("--cluster", metavar="ray://HOST:PORT", default="",
                      help="run the workers as Ray actors on an existing Ray cluster ('auto': the one this "
                           "machine belongs to); --workers then counts actors (default: by the cluster's CPUs). "
                           "Needs pip install 'desk[cluster]'")
    load.add_argument("--name", help="a label for the run")
    load.add_argument("--json", action="store_true", help="one JSON summary object per model")
    load.set_defaults(handler=run)


# The flags, as the plan's messages name its fields (desk.engine.load_plan).
CLI_LABELS = PlanLabels(models="--model", prompt="--prompt", dataset="--dataset or --trial", ramp="--ramp",
                        requests="--requests", duration="--duration", backoff="",
                        backoff_base="--backoff-base", backoff_max="--backoff-max")


def plan_from_args(args: argparse.Namespace, get_trial: Callable[[str], StoredTrial | None]) -> LoadPlan:
    """Build a LoadPlan from the arguments; raise ValueError with a plain reason.
    `get_trial` looks a stored trial up by id (for --trial)."""
    from desk.core.dataset import load_prompts

    trial = None
    if args.trial:
        stored = get_trial(args.trial)
        if stored is None:
            raise ValueError(f"no trial {args.trial!r} (desk history lists them)")
        trial = stored.input
    given = LoadInput(
        models=tuple(args.model), prompt=args.prompt or "", system=args.system, trial=trial,
        dataset=tuple(load_prompts(args.dataset)) if args.dataset else None,
        source=args.dataset or (f"trial {args.trial}" if args.trial else ""),
        ramp=args.ramp or "", concurrency=args.concurrency,
        # 100 requests per step unless the steps go by time
        requests=args.requests if args.requests is not None else (None if args.duration else 100),
        duration_s=args.duration, max_retries=args.max_retries, honour_retry_after=not args.no_retry_after,
        backoff_base=args.backoff_base, backoff_max=args.backoff_max,
        connect_timeout=args.connect_timeout, first_token_timeout=args.first_token_timeout,
        idle_timeout=args.idle_timeout, total_timeout=args.total_timeout, fallback=tuple(args.fallback),
        budget_ms=args.budget_ms, temperature=args.temperature, max_tokens=args.max_tokens,
        warmup=not args.no_warmup, workers=args.workers, cluster=args.cluster)
    return build_plan(given, CLI_LABELS)


class _ProgressLine:
    """One line on stderr, refreshed at most 4 times a second: from each finished request in
    one process, from the workers' counts during a step (`tally`) across worker processes or
    a cluster's actors."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.last = 0.0
        self.errors = 0
        self.counted = (0, 0)  # the workers' latest counts: done, errors

    def __call__(self, outcome: RequestOutcome, done: int, planned: int) -> None:
        if outcome.status != "ok":
            self.errors += 1
        self.draw(max(done, self.counted[0]), max(self.errors, self.counted[1]), planned, outcome.step,
                  outcome.concurrency)

    def tally(self, now: Tallied) -> None:
        self.counted = (now.done, now.errors)
        self.draw(now.done, max(self.errors, now.errors), now.planned, now.step, now.concurrency)

    def draw(self, done: int, errors: int, planned: int, step: int, concurrency: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.25 and done != planned:
            return
        self.last = now
        of = f"/{planned}" if planned else ""
        rate = done / (now - self.t0) if now > self.t0 else 0.0
        sys.stderr.write(f"\r{done}{of} requests, {errors} errors, {rate:.1f} req/s, "
                         f"step {step + 1} at concurrency {concurrency}   ")
        sys.stderr.flush()

    def end(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()


def run(args: argparse.Namespace, app: Application) -> int:
    """`desk load`: run the plan, then print the report (or one JSON object per model)."""
    from desk.engine.load import LoadCancelled, LoadNotStored
    from desk.engine.session import EngineError

    try:
        timeouts = timeouts_from(args)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    progress = _ProgressLine()

    if not args.resume and not (args.model and (args.prompt or args.dataset or args.trial)):
        raise CliError("desk load needs --model and one of --prompt, --dataset, --trial (or --resume RUN_ID)")

    async def go() -> LoadResult:
        # The connect timeout belongs to the engine's HTTP client: the plan's, from the same
        # arguments (the runs' own timeouts and retries are the plan's).
        async with app.engine(timeouts=timeouts) as engine:
            if args.resume:
                try:
                    return await engine.loads.resume(args.resume, progress=progress, workers=args.workers or None,
                                                     cluster=args.cluster or None, tally=progress.tally)
                except LoadCancelled as exc:
                    return exc.result
            try:
                plan = plan_from_args(args, engine.trials.history.get)
            except ValueError as exc:
                raise CliError(str(exc)) from None
            for ref in (*plan.models, *plan.fallback):
                engine.providers.target(ref)  # unknown providers fail before anything is sent
            try:
                return await engine.loads.run(plan, progress=progress, name=args.name, tally=progress.tally)
            except LoadCancelled as exc:
                return exc.result

    try:
        result = _run(go())
    except EngineError as exc:
        raise CliError(str(exc)) from None
    except LoadNotStored as exc:  # measured, but not saved: never a success (exit 1, not 2)
        progress.end()
        raise CliError(str(exc), EXIT_FAILED) from None
    except KeyboardInterrupt:
        progress.end()
        sys.stderr.write("desk: interrupted; what was measured is stored\n")
        return 130
    progress.end()
    summary = result.summary
    if args.json:
        for model, figures in summary["models"].items():
            print(json.dumps(model_json(result.run_id, model, figures, summary)))
    else:
        print_table(result.run_id, result.status, summary)
    return EXIT_OK


def model_json(run_id: str, model: str, f: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    """The --json record of one model (keys documented in the README)."""
    return {
        "run_id": run_id,
        "model": model,
        "requests": f["requests"],
        "ok": f["ok"],
        "errors": f["errors"],
        "ttft_ms": {k: f["ttft_ms"].get(k) for k in (*PCT_KEYS, "p95_ci")},
        "total_ms": {k: f["total_ms"].get(k) for k in (*PCT_KEYS, "p95_ci")},
        "itl_ms": {k: f["itl_ms"].get(k) for k in (*PCT_KEYS, "p95_ci")},
        "throughput_rps": f["throughput_rps"],
        "output_tokens_per_s": f["output_tokens_per_s"],
        "retries": f["retries"],
        "retries_per_success": f["retries_per_success"],
        "rate_limited": f["rate_limited"],
        "retry_wait_ms": f["retry_wait_ms"],
        "fallbacks": f["fallbacks"],  # needed the next model, whether or not it then answered
        "fallbacks_answered": f.get("fallbacks_answered"),
        # cost figures sum the priced requests: lower bounds when cost_partial, None when none was priced
        "cost_usd": f["cost_usd"],
        "cost_unknown": f.get("cost_unknown", 0),
        "cost_partial": f.get("cost_partial", False),
        "cost_per_request_usd": f["cost_per_request_usd"],
        "cost_per_success_usd": f["cost_per_success_usd"],
        "knee_concurrency": f.get("knee_concurrency"),
        # where the vendor began answering 429 (None: it never did); see desk.core.load.throttling
        "throttling": f.get("throttling"),
        "stability": f["stability"],
        "latency_spread_ms": f["latency_spread_ms"],
        "steps": [{"concurrency": s["concurrency"], **_step(s["models"][model])} for s in summary["steps"]],
        "event_loop_lag": summary["event_loop_lag"],
    }


def _step(f: dict[str, Any]) -> dict[str, Any]:
    return {"requests": f["requests"], "ok": f["ok"], "errors": f["errors"],
            "ttft_p95_ms": f["ttft_ms"]["p95"], "total_p95_ms": f["total_ms"]["p95"],
            "throughput_rps": f["throughput_rps"]}


def print_table(run_id: str, status: str, summary: dict[str, Any]) -> None:
    for line in table_lines(run_id, status, summary):  # the same wording as the Load tab's: desk.core.load_report
        print(line)
