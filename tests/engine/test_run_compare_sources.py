"""Which source each of an answer's verdicts comes from in run versus run (issue 15):
people where they rated, else the judges, else (constraints only) desk's automatic check."""

from __future__ import annotations

import asyncio
import json

import pytest

from desk.core.rating import Rating
from desk.core.response import ResponseResult, Status
from desk.core.trial import ModelRef
from desk.engine.run_compare import answer_facts
from desk.engine.run_compare_tab import COLUMNS, RunCompareTab
from tests.engine.conftest import MODELS, engine_for, ref
from tests.vendor_server import Script

ANSWER = ResponseResult(id="r1", trial_id="t1", model="p/m", settings={}, status=Status.OK, ttft_ms=5.0)


def _rating(rater: str, at: float, **values: str) -> Rating:
    return Rating(id=f"{rater}-{at}", response_id="r1", rater=rater, rubric_id="rb", created_at=at, values=values)


def test_people_win_over_the_judge_and_the_judge_over_the_automatic_check():
    facts = answer_facts(ANSWER, [
        _rating("auto", 1, constraints="violated"),
        _rating("judge:p/j", 2, outcome="failure", uncertainty="confident_wrong", constraints="followed"),
        _rating("ann", 3, outcome="success"),
    ])
    assert (facts.success, facts.success_source) == (True, "people")
    assert (facts.uncertainty, facts.uncertainty_source) == ("confident_wrong", "judge")
    assert (facts.violated, facts.violated_source) == (False, "judge")


def test_a_judge_that_says_not_applicable_leaves_constraints_to_the_automatic_check():
    facts = answer_facts(ANSWER, [_rating("auto", 1, constraints="violated"),
                                  _rating("judge:p/j", 2, outcome="success", constraints="na")])
    assert (facts.violated, facts.violated_source) == (True, "auto")
    assert (facts.success, facts.success_source) == (True, "judge")
    assert facts.uncertainty is None


def test_judges_that_disagree_give_their_majority():
    facts = answer_facts(ANSWER, [_rating("judge:p/a", 1, outcome="failure"), _rating("judge:p/b", 2, outcome="success"),
                                  _rating("judge:p/c", 3, outcome="failure")])
    assert (facts.success, facts.success_source) == (False, "judge")


def test_no_verdict_from_anyone_is_none():
    facts = answer_facts(ANSWER, [])
    assert facts.success is None and facts.violated is None and facts.violated_source is None


def test_the_suites_tab_compare_table_names_the_judge_as_the_source(providers, vendor, tmp_path):
    """Two judged runs in the "Compare runs…" dialog's model: the Source cell says "judge"
    where only the judge rated, and each source's count where people rated some answers."""
    pytest.importorskip("jsonschema")
    path = tmp_path / "weekly.jsonl"
    path.write_text("".join(json.dumps({"id": f"c{i:02}", "prompt": f"Task {i}"}) + "\n" for i in range(6)))

    def verdict(outcome: str) -> Script:
        return Script(text_pieces=[json.dumps({"outcome": outcome, "uncertainty": "confident_correct",
                                               "constraints": "na", "quality": 3, "rationale": "Seen."})])

    async def go():
        async with engine_for(providers) as engine:
            engine.suites.import_suite(path, "weekly")
            runs = []
            for outcome in ("success", "failure"):
                result = await engine.suites.run("weekly", [ref("openai")])
                vendor.set_default("judge", verdict(outcome))
                await engine.judges.judge_run(result.run_id, ModelRef.parse("openai/judge"))
                runs.append(result)
            first = sorted(runs[0].responses, key=lambda x: x.case.key)[0]
            tab = RunCompareTab(engine, "weekly")
            tab.load()
            judged_only = tab.compare(runs[0].run_id, runs[1].run_id)
            engine.ratings.save_rating(first.response.id, {"outcome": "failure", "uncertainty": "confident_correct",
                                                           "constraints": "na", "quality": 2}, rater="ana")
            return judged_only, tab.compare(runs[0].run_id, runs[1].run_id)

    judged_only, mixed = asyncio.run(go())
    source = COLUMNS.index("Source")
    success = next(r for r in judged_only if r.figure == "success")
    assert success.cells[2:5] == ("6", "100.0%", "0.0%") and success.cells[source] == "judge"
    success = next(r for r in mixed if r.figure == "success")
    assert success.cells[2:5] == ("6", "83.3%", "0.0%") and success.cells[source] == "judge 11+people 1"
    assert f"openai/{MODELS['openai']}" == success.model
