"""The Load tab's model says where a stored run was sent from and whether it can be resumed,
by the rule `desk load --resume` applies (no Qt here)."""

from __future__ import annotations

import pytest

from desk.core.load import RequestOutcome
from desk.engine.load_tab import CLUSTER, HERE, PROCESSES, LoadTabModel, placement_of
from desk.engine.session import RunInfo

A, B = "openai/gpt-4o-mini", "claude/claude-sonnet-4-5"
SPEC = {"models": [A, B], "steps": [{"concurrency": 2, "requests": 3}, {"concurrency": 4, "requests": 5}],
        "trial_ids": ["t1"], "workers": 2}


def info(status: str, **spec) -> RunInfo:
    return RunInfo(id="r1", kind="load", name=None, created_at=0.0, finished_at=None, status=status,
                   spec={**SPEC, **spec}, summary=None)


def ended(model: str, step: int, n: int, status: str = "ok") -> list[RequestOutcome]:
    return [RequestOutcome(model=model, step=step, concurrency=2, seq=i, start_offset_ms=0.0, status=status,
                           total_ms=1.0) for i in range(n)]


@pytest.mark.parametrize(("spec", "where"), [
    ({"workers": 1}, (HERE, 1, "")),
    ({"workers": 3}, (PROCESSES, 3, "")),
    ({}, (PROCESSES, 0, "")),  # stored before runs recorded their workers
    ({"workers": 4, "cluster": "ray://head:10001"}, (CLUSTER, 4, "ray://head:10001")),
])
def test_a_stored_run_says_where_it_was_sent_from(spec, where):
    assert placement_of(spec) == where


def test_a_run_cut_short_can_be_resumed_and_a_finished_one_cannot():
    model = LoadTabModel()
    whole = ended(A, 0, 3) + ended(B, 0, 3) + ended(A, 1, 5) + ended(B, 1, 5)
    short = ended(A, 0, 3) + ended(B, 0, 3) + ended(A, 1, 2) + ended(B, 1, 5)
    assert model.open_stored(info("cancelled"), short).resume_problem is None
    assert model.open_stored(info("failed"), short).resume_problem is None  # a worker lost
    assert model.open_stored(info("interrupted"), short).resume_problem is None  # desk died mid-run
    interrupted = short + ended(A, 1, 3, status="interrupted")  # cut in flight: sent again
    assert model.open_stored(info("cancelled"), interrupted).resume_problem is None
    assert "nothing to resume" in model.open_stored(info("cancelled"), whole).resume_problem
    assert "is done: nothing to resume" in model.open_stored(info("done"), whole).resume_problem
    assert "is running" in model.open_stored(info("running"), short).resume_problem
    assert "before desk kept its prompts" in model.open_stored(info("cancelled", trial_ids=[]), short).resume_problem
    # after a run ends in the window, with its requests all in memory
    model.outcomes = short
    assert model.resume_problem(info("cancelled")) is None
    model.outcomes = whole
    assert model.resume_problem(info("cancelled")) is not None
