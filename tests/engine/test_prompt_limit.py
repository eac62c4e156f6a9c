"""The one prompt limit holds below every surface: a trial (the window's and `desk trial`'s
path), a load plan, and a suite import whose attachments leave the suite's folder."""

from __future__ import annotations

import asyncio
import json

import pytest

from desk.core.load import LoadStep
from desk.core.trial import MAX_PROMPT_CHARS, TrialInput, Variant
from desk.engine.load import LoadPlan
from desk.engine.session import EngineError
from tests.engine.conftest import engine_for, ref

BIG = "x" * (MAX_PROMPT_CHARS + 1)


def test_a_trial_over_the_limit_is_refused_before_anything_is_stored_or_sent(providers, vendor):
    async def go():
        async with engine_for(providers) as engine:
            for trial, variants, what in ((TrialInput(BIG), None, "the prompt"),
                                          (TrialInput("p", BIG), None, "the system prompt"),
                                          (TrialInput("p"), [Variant("A", None), Variant("B", BIG)],
                                           "the system prompt B")):
                with pytest.raises(EngineError, match=f"^{what} is 5,000,001 characters, more than the "
                                                      "5,000,000 allowed"):
                    await engine.trials.run(trial, [ref("openai")], variants=variants)
            assert engine.trials.history.list() == []
            at_limit = await engine.trials.run(TrialInput("y" * MAX_PROMPT_CHARS), [ref("openai")])
            assert at_limit.responses[0].status.value == "ok"

    asyncio.run(go())
    assert len(vendor.requests) == 1


def test_a_load_plan_over_the_limit_is_refused():
    with pytest.raises(ValueError, match=r"^prompt 2: the prompt is 5,000,001 characters"):
        LoadPlan(models=(ref("openai"),), inputs=(TrialInput("ok"), TrialInput(BIG)), steps=(LoadStep(1, 1),))


def test_import_outside_the_folder_is_refused_then_allowed_explicitly(providers, tmp_path):
    private = tmp_path / "private.txt"
    private.write_text("mine\n")
    folder = tmp_path / "suites"
    folder.mkdir()
    path = folder / "s.jsonl"
    path.write_text(json.dumps({"id": "a", "prompt": "p", "attachments": [str(private)]}) + "\n")

    async def go():
        async with engine_for(providers) as engine:
            with pytest.raises(EngineError) as err:
                engine.suites.import_suite(path, "mine")
            assert "line 1: attachment" in str(err.value) and err.value.outside == (str(private),)
            assert [s.name for s in engine.suites.list_suites() if s.name == "mine"] == []
            info = engine.suites.import_suite(path, "mine", allow_outside=err.value.outside)
            assert info.cases == 1
            assert engine.suites.get("mine").cases[0].attachments[0].text == "mine\n"

    asyncio.run(go())
