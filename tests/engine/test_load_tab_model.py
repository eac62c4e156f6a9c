"""The Load tab's model without a window: validation messages, the plan the form describes,
and the live statistics of a run as its requests arrive (no QApplication anywhere here)."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from desk.core.attachment import load_attachment
from desk.core.load import AttemptMark, RequestOutcome
from desk.core.trial import ModelRef, TrialInput
from desk.engine.load import LoadResult, planned_requests
from desk.engine.load_tab import NO_FALLBACK, LoadTabModel, run_title
from desk.engine.session import RunInfo

A, B = "openai/gpt-4o-mini", "claude/claude-sonnet-4-5"


def heard(event) -> list[tuple]:
    calls: list[tuple] = []
    event.connect(lambda *args: calls.append(args))
    return calls


def filled(fallback: str | None = None, **form) -> LoadTabModel:
    """The model with its form filled in: LoadInput's fields, the fallback as its list names it."""
    model = LoadTabModel()
    model.edit(**{"models": (A,), "prompt": "What is 2 + 2?", **form})
    if fallback is not None:
        model.set_fallback(fallback)
    return model


def outcome(seq: int, *, model: str = A, status: str = "ok", total: float = 100.0, start: float = 0.0,
            step: int = 0, concurrency: int = 2, marks=()) -> RequestOutcome:
    return RequestOutcome(model=model, step=step, concurrency=concurrency, seq=seq, start_offset_ms=start,
                          status=status, error_kind=None if status == "ok" else "server_error",
                          total_ms=total, marks=list(marks))


def test_the_model_needs_no_qt():
    code = "import sys, desk.engine.load_tab; print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(("form", "words"), [
    ({"models": ()}, "Models: choose at least one model to load."),
    ({"prompt": "  \n"}, "The prompt is empty: write one, or choose a dataset."),
    ({"requests": None, "duration_s": None}, "number of requests or a duration"),
    ({"backoff_base": 5.0, "backoff_max": 2.0}, "Backoff: the longest wait (2 s) cannot be shorter than the first (5 s)."),
    ({"ramp": "1,8,x"}, "ramp: 'x' is not a whole number"),
])
def test_a_form_that_describes_no_run_says_why(form, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        filled(**form).build_plan()


def test_a_bad_ramp_is_an_error_message_until_it_is_fixed():
    model = filled()
    messages, checked = heard(model.message_changed), heard(model.ramp_checked)
    assert not model.set_ramp("1,,2")
    assert messages[-1] == ("error", "ramp: 'an empty level' is not a whole number of at least 1; "
                                     "write concurrency levels like 1,8,32,128")
    assert checked[-1] == (None,) and model.message[0] == "error"
    assert model.set_ramp("1, 8,32")
    assert messages[-1] == (None, "") and checked[-1] == ([1, 8, 32],)
    assert [s.concurrency for s in model.build_plan().steps] == [1, 8, 32]
    # a fixed ramp clears only its own message, not another one
    model.say("error", "Dataset not loaded: line 4")
    model.set_ramp("4")
    assert model.message == ("error", "Dataset not loaded: line 4")


def test_the_plan_is_what_the_form_says():
    model = filled(models=(A, B), requests=None, duration_s=1.5, concurrency=3, max_retries=4,
                   honour_retry_after=False, backoff_base=0.25, backoff_max=2.0, first_token_timeout=5.0,
                   idle_timeout=0.3, total_timeout=8.0, connect_timeout=3.0, fallback=B, budget_ms=900.0,
                   temperature=0.7, max_tokens=32)
    plan = model.build_plan()
    assert plan.models == (ModelRef.parse(A), ModelRef.parse(B)) and plan.fallback == (ModelRef.parse(B),)
    assert [(s.concurrency, s.requests, s.duration_s) for s in plan.steps] == [(3, None, 1.5)]
    assert plan.inputs == (TrialInput("What is 2 + 2?"),) and plan.source == "prompt"
    assert (plan.settings.temperature, plan.settings.max_tokens) == (0.7, 32)
    assert (plan.retry.max_retries, plan.retry.base_delay, plan.retry.max_delay) == (4, 0.25, 2.0)
    assert not plan.retry.honour_retry_after
    assert plan.spec()["timeouts"] == {"connect": 3.0, "first_token": 5.0, "idle": 0.3, "total": 8.0}
    assert plan.p95_budget_ms == 900.0 and planned_requests(plan) == 0  # by time: nobody knows
    defaults = filled(fallback=NO_FALLBACK).build_plan()
    assert defaults.fallback == () and defaults.p95_budget_ms is None and defaults.settings.temperature is None
    assert [(s.concurrency, s.requests) for s in defaults.steps] == [(10, 20)] and planned_requests(defaults) == 20
    assert (defaults.retry.max_retries, defaults.retry.base_delay, defaults.retry.max_delay) == (2, 1.0, 30.0)


def test_a_dataset_or_the_trials_tabs_task_replaces_the_prompt(tmp_path):
    (tmp_path / "rows.csv").write_text("id;name\n1;Zoë\n", encoding="utf-8")
    model = filled(prompt="")
    changed, messages = heard(model.dataset_changed), heard(model.message_changed)
    rows = [TrialInput("one"), TrialInput("two", "be brief")]
    model.use_dataset(tmp_path / "prompts.csv", rows)
    assert changed and model.dataset_text == "2 prompts from prompts.csv: requests cycle through them"
    assert messages[-1] == ("info", "Loaded 2 prompts from prompts.csv.")
    plan = model.build_plan()
    assert plan.inputs == tuple(rows) and plan.source == str(tmp_path / "prompts.csv")

    assert not model.use_trial(TrialInput("  "))
    assert "no task yet" in model.message[1] and model.dataset == rows  # the dataset in use stays
    task = TrialInput("Which rows are odd?", "Be brief.", (load_attachment(tmp_path / "rows.csv"),))
    assert model.use_trial(task)
    assert model.dataset_text == ("the Trials tab's task: “Which rows are odd?” with 1 file(s) and a system prompt: "
                                  "every request sends it")
    assert model.build_plan().inputs == (task,) and model.build_plan().source == "trials tab"
    model.clear_dataset()
    assert model.dataset is None and model.dataset_tip == ""
    with pytest.raises(ValueError, match="prompt is empty"):
        model.build_plan()


def test_live_statistics_grow_as_the_load_thread_reports():
    model = filled(requests=3, concurrency=2, models=(A, B))
    plan = model.build_plan()
    mailbox = model.begin(plan)
    assert planned_requests(plan) == 6 and model.live.models == [A, B] and model.outcomes == []
    progressed = heard(model.progressed)
    left = AttemptMark(A, start_s=0.05, end_s=0.1, http_status=200, remaining_requests=9, remaining_tokens=500)
    limited = AttemptMark(B, start_s=0.2, end_s=0.21, http_status=429, remaining_requests=0)
    batch = [outcome(0, total=100, start=0, marks=[left]), outcome(1, total=300, start=50),
             outcome(2, model=B, status="error", total=20, start=200, marks=[limited])]

    def report() -> None:  # as the load thread does
        for done, o in enumerate(batch, start=1):
            mailbox.put(o, done, 6)

    worker = threading.Thread(target=report)
    worker.start()
    worker.join()
    assert model.drain() is None
    assert progressed == [(3, 6)] and len(model.outcomes) == 3
    live = model.live
    assert (live.n, live.ok, live.errors) == (3, 2, 1)
    assert live.ok_totals[A] == [100, 300] and live.err_points == ([200], [20])
    assert live.left_requests[A] == ([50.0], [9]) and live.left_tokens[A] == ([50.0], [500])
    assert live.first_429_ms == 200.0
    assert live.current_rps() == 3.0  # all three ended within the run's last second
    assert model.step_points(A, None) == [(2, 290.0)]  # p95 of 100 and 300, live
    text = model.status_text(3, 6, elapsed=1.25)
    assert text == "3 / 6 done · 2 ok · 1 errors · 3 req/s now · 1.2 s"
    assert model.drain() is None and progressed == [(3, 6)]  # nothing new, no event

    # A finished step's p95 comes from the run's summary; the run's end replaces the live figures.
    summary = {"steps": [{"step": 0, "concurrency": 2, "models": {A: {"total_ms": {"p95": 280.0}}}}], "models": {}}
    assert model.step_points(A, summary) == [(2, 280.0)]
    result = LoadResult("run1", "done", summary, batch[:2])
    mailbox.finish(result, None)
    assert model.drain() == (result, None)
    model.finish(result)
    assert model.current_run_id == "run1" and model.current_summary is summary
    assert (model.live.n, model.live.ok) == (2, 2) and model.live.models == [A, B]


def test_a_stored_run_without_a_summary_is_figured_from_its_requests():
    info = RunInfo(id="r9", kind="load", name="nightly", created_at=0.0, finished_at=None, status="interrupted",
                   spec={"models": [A], "steps": [{"concurrency": 2, "requests": 5}], "p95_budget_ms": 500.0},
                   summary=None)
    stored = [outcome(0, total=100), outcome(1, status="error", total=50, start=10,
                                            marks=[AttemptMark(A, 0.01, 0.06, 429)])]
    model = LoadTabModel()
    opened = model.open_stored(info, stored)
    assert model.current_run_id == "r9" and model.budget_ms == 500.0 and model.outcomes == stored
    assert opened.planned == 5 and opened.note == "Run interrupted: figures computed from its 2 stored requests."
    figures = opened.summary["models"][A]
    assert (figures["requests"], figures["ok"]) == (2, 1)
    assert opened.summary["throttling"]["first_429_at_s"] == 0.01 and figures["throttling"]["concurrency"] == 2
    assert model.current_summary is opened.summary and model.live.first_429_ms == 10.0
    assert run_title(info).startswith("nightly · ") and "interrupted · 1 model · 0 requests · concurrency 2" in run_title(info)


def test_how_a_run_ended_is_said():
    model = filled()
    messages = heard(model.message_changed)
    assert model.end(None, None, 20) == "Cancelled before anything was measured."
    assert messages[-1] == ("info", "Cancelled before anything was measured.")
    assert model.end(None, OSError("disk full"), 20) == "The run failed: disk full"
    assert messages[-1] == ("error", "The run failed: disk full")
    cancelled = LoadResult("r1", "cancelled", {"wall_s": 2.0}, [outcome(0), outcome(1, status="error")])
    assert model.end(cancelled, None, 20).startswith("Cancelled: 2 / 20 done · 1 ok · 1 errors · ")
    assert messages[-1] == ("info", "Cancelled: the 2 requests measured are stored with the run.")
    assert model.current_run_id == "r1" and len(model.outcomes) == 2
    done = LoadResult("r2", "done", {"wall_s": 1.5}, [outcome(0)])
    assert model.end(done, RuntimeError("store refused"), 0) == "Done: 1 done · 1 ok · 0 errors · 1 req/s now · 1.5 s"
    assert messages[-1] == ("error", "The run finished with a problem: store refused")
