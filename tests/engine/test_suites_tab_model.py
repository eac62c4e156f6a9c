"""The Suites tab's model (desk.engine.suites_tab) without a window: validation, run plans,
live figures, what it says when a run ends, and the matrix's filters, against the loopback
vendor. No QApplication here: the model must not need Qt."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from desk.engine.suites_tab import (
    ANY,
    NO_EXPECT,
    NOT_STARTED,
    RATED,
    UNRATED,
    PlanError,
    SuitesTab,
    matrix_rows,
    matrix_tags,
    row_shown,
    shown_text,
)
from desk.engine.tab_events import Event
from tests.engine.conftest import MODELS, PATIENT, engine_for
from tests.engine.suites_tab_helpers import cancel_after_three, names, suite_path
from tests.vendor_server import Script


def test_the_model_imports_no_qt():
    code = "import sys, desk.engine.suites_tab; print(any(m.startswith('PySide6') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_events_call_every_callback_in_order():
    seen: list[tuple[str, int]] = []
    event = Event()
    event.connect(lambda n: seen.append(("first", n)))
    event.connect(lambda n: seen.append(("second", n)))
    event.emit(3)
    assert seen == [("first", 3), ("second", 3)]


def test_a_plan_says_why_it_cannot_start(providers, tmp_path):
    async def go():
        async with engine_for(providers) as engine:
            engine.suites.import_suite(suite_path(tmp_path), "three")
            tab = SuitesTab(engine)
            assert tab.load_suites() is None
            suite = tab.suite("three")
            assert suite is not None and suite.cases == 3 and tab.suite("nope") is None
            with pytest.raises(PlanError, match="Select a suite"):
                tab.plan_run(None, names("openai"), 1, 4)
            with pytest.raises(PlanError, match="Tick at least one model"):
                tab.plan_run(suite, [], 1, 4)
            with pytest.raises(PlanError, match="PROVIDER/MODEL"):
                tab.plan_run(suite, ["no-slash"], 1, 4)
            with pytest.raises(PlanError, match="Select an interrupted run"):
                tab.plan_resume("no-such-run")
            assert not tab.can_start(suite, []) and not tab.can_start(None, names("openai"))
            assert tab.can_start(suite, names("openai"))
            plan = tab.plan_run(suite, names("openai", "anthropic"), 2, 4)
            assert plan.total == 3 * 2 * 2 and plan.text == "Starting three: 12 answers to get…"
            assert [str(m) for m in plan.models] == names("openai", "anthropic")
            tab.running = True
            assert not tab.can_start(suite, names("openai"))  # one run at a time

    asyncio.run(go())


def test_a_run_fills_the_live_figures_and_says_how_it_went(providers, vendor, tmp_path):
    vendor.set_default(MODELS["ollama"], Script(status=500, error_message="the server fell over"))

    async def go():
        async with engine_for(providers) as engine:
            engine.suites.import_suite(suite_path(tmp_path), "three")
            tab = SuitesTab(engine)
            tab.load_suites()
            started: list[str] = []
            tab.run_started.connect(started.append)
            changes: list[None] = []
            tab.changed.connect(lambda: changes.append(None))
            plan = tab.plan_run(tab.suite("three"), names("openai", "anthropic", "ollama"), 1, 3)
            tab.begin(plan)
            assert tab.status == plan.text and tab.live_progress() is None
            result = await tab.run(plan)
            return tab, started, changes, result

    tab, started, changes, result = asyncio.run(go())
    assert started == [result.run_id] and tab.current_run_id == tab.running_run_id == result.run_id
    assert changes and tab.dirty  # answers arrived: the matrix is out of date
    assert tab.progress == (6, 9) and tab.failed == 3
    assert tab.status == tab.live_progress() == "6 / 9 done · 3 failed"
    assert tab.end() == result.run_id and tab.running_run_id is None
    said = tab.finished(result)
    assert not said.error and said.text == f"Run {result.run_id} done: 6 answers; 3 failed (Resume sends them again)."
    tab.load_runs()
    assert tab.can_resume(result.run_id) and tab.can_rate(result.run_id)  # the failed cells can be sent again
    resume = tab.plan_resume(result.run_id)
    assert resume.total == 9 and resume.text == f"Resuming {result.run_id}: 3 answers to get…"


def test_before_run_can_stop_a_run_before_anything_is_sent(providers, vendor, tmp_path):
    asked: list[list[str]] = []

    async def refuse(models) -> bool:
        asked.append([str(m) for m in models])
        return False

    async def go():
        async with engine_for(providers) as engine:
            engine.suites.import_suite(suite_path(tmp_path), "three")
            tab = SuitesTab(engine)
            tab.load_suites()
            plan = tab.plan_run(tab.suite("three"), names("openai"), 1, 2)
            tab.begin(plan)
            result = await tab.run(plan, refuse)
            tab.load_runs()
            return tab, result

    tab, result = asyncio.run(go())
    assert result is None and asked == [names("openai")]
    assert tab.status == NOT_STARTED and tab.runs == [] and vendor.requests == []


def test_a_cancelled_run_says_what_was_kept_and_resumes_the_rest(providers, vendor, tmp_path):
    async def go():
        async with engine_for(providers, timeouts=PATIENT) as engine:
            tab, cancel = await cancel_after_three(engine, vendor, tmp_path)
            said = tab.cancelled(cancel)
            vendor.set_default(MODELS["openai"], Script())
            run_id = tab.end()
            tab.load_runs()
            assert tab.can_resume(run_id)
            resume = tab.plan_resume(run_id)
            tab.begin(resume)
            done = await tab.run(resume)
            tab.load_runs()
            return tab, said, cancel.result, done

    tab, said, cancelled, done = asyncio.run(go())
    assert not said.error
    assert said.text == (f"Cancelled. {cancelled.ok} new answers were stored. "
                         "Resume sends only the cases that have no answer yet.")
    assert cancelled.ok == 3 and cancelled.ok + done.ok == 8
    assert not tab.can_resume(done.run_id) and tab.run_info(done.run_id).done == 8


def test_a_refused_run_is_not_started_and_a_bug_stops_it(providers):
    async def go():
        async with engine_for(providers) as engine:
            tab = SuitesTab(engine)
            from desk.engine.session import EngineError

            refused = tab.failed_to_run(EngineError("no such suite: gone"))
            assert refused.error and refused.text == "no such suite: gone" and tab.status == NOT_STARTED
            bug = tab.failed_to_run(RuntimeError("oops"))
            assert bug.error and bug.text == "The run stopped: oops"

    asyncio.run(go())


def test_the_matrix_rows_and_filters(providers, tmp_path):
    async def go():
        async with engine_for(providers) as engine:
            engine.suites.import_suite(suite_path(tmp_path), "three")
            tab = SuitesTab(engine)
            tab.load_suites()
            plan = tab.plan_run(tab.suite("three"), names("openai", "anthropic"), 2, 4)
            tab.begin(plan)
            await tab.run(plan)
            matrix = tab.read_matrix()
            return tab, matrix

    tab, matrix = asyncio.run(go())
    assert tab.reloads == 1
    rows = matrix_rows(matrix)
    assert [(r.case.key, r.sample) for r in rows] == [("a", 0), ("a", 1), ("b", 0), ("b", 1), ("c", 0), ("c", 1)]
    assert all(len(r.cells) == 2 and r.trial_id for r in rows)
    assert matrix_tags(matrix) == ["easy", "hard"]

    def keys(**filters) -> list[str]:
        return [r.case.key for r in rows if row_shown(r, **filters)]

    assert keys() == ["a", "a", "b", "b", "c", "c"]
    assert keys(expect="answer") == ["a", "a"] and keys(expect=NO_EXPECT) == ["c", "c"]
    assert keys(tag="hard") == ["b", "b"] and keys(tag=ANY, expect="clarify") == ["b", "b"]
    assert keys(rated=RATED) == [] and len(keys(rated=UNRATED)) == 6  # nobody has rated yet
    assert shown_text(2, 6) == "2 of 6 cases" and shown_text(6, 6) == "6 cases"
    title = tab.title(matrix)
    assert title.startswith("<b>three v1</b>") and "3 cases × 2 samples × 2 models" in title
    assert title.endswith("12 / 12 done")
