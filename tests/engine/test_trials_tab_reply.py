"""Reply and Reply to all in the Trials tab's model (issue 16), without a window: a reply
streams into the pane of the answer it continues (nothing shown is cleared), each answer
knows its turn, and a reopened trial shows its turns. Against the loopback vendor."""

from __future__ import annotations

import asyncio

import pytest

from desk.core.trial import TrialInput
from desk.engine.trials_tab import EMPTY_REPLY, NOTHING_TO_REPLY_TO, PlanError, TrialsTab
from tests.engine.conftest import engine_for, ref, script_for
from tests.engine.test_trials_tab import Seen
from tests.vendor_server import Script


def _chats(vendor) -> list:
    return [rec for rec in vendor.requests if rec.method == "POST"]


def test_reply_then_reply_to_all_stream_below_their_answers(providers, vendor):
    script_for(vendor, "openai", Script(text_pieces=["Which one?"]), Script(text_pieces=["Q3 it is."]),
               Script(text_pieces=["Up 4%."]))
    script_for(vendor, "gemini", Script(text_pieces=["Revenue or units?"]), Script(text_pieces=["Revenue: up."]))

    async def go():
        async with engine_for(providers) as engine:
            tab = TrialsTab(engine)
            seen = Seen(tab)
            plan = tab.plan(TrialInput("How did sales do?"), [ref("openai"), ref("gemini")])
            tab.begin(plan)
            outcome = await tab.run(plan)
            tab.finished(outcome, "Ctrl+R")
            tab.end()
            oa, ge = outcome.responses

            one = tab.reply_plan("The Q3 report.", oa.id)
            assert one.response_ids == (oa.id,)
            tab.begin_reply(one)
            (second,) = await tab.run_reply(one)
            tab.end()
            assert (tab.turn_of(second.id), tab.pane_of(second.id)) == (2, oa.id)
            assert list(tab.figures) == [oa.id, ge.id, second.id]  # nothing shown was cleared
            assert seen.events.count(("cleared", "")) == 1

            every = tab.reply_plan("And overall?")  # Reply to all: the latest answer of each pane
            assert every.response_ids == (second.id, ge.id)
            tab.begin_reply(every)
            third, ge2 = await tab.run_reply(every)
            tab.end()
            assert [tab.turn_of(r.id) for r in (third, ge2)] == [3, 2]
            assert [tab.pane_of(r.id) for r in (third, ge2)] == [oa.id, ge.id]
            assert tab.expected == 5 and tab.done_count() == 5

            reopened = TrialsTab(engine)
            reopened.open(outcome.trial_id)
            assert {rid: reopened.turn_of(rid) for rid in reopened.figures} == {
                oa.id: 1, ge.id: 1, second.id: 2, third.id: 3, ge2.id: 2}
            return third

    third = asyncio.run(go())
    assert third.text == "Up 4%."
    last_openai = [r for r in _chats(vendor) if r.protocol == "openai"][-1]
    assert [(m["role"], m["text"]) for m in last_openai.messages] == [
        ("user", "How did sales do?"), ("assistant", "Which one?"), ("user", "The Q3 report."),
        ("assistant", "Q3 it is."), ("user", "And overall?")]


def test_reply_plans_say_why_not(providers, vendor):
    script_for(vendor, "openai", Script(status=400, error_message="bad"))

    async def go():
        async with engine_for(providers) as engine:
            tab = TrialsTab(engine)
            with pytest.raises(PlanError, match="Open or send a trial first"):
                tab.reply_plan("Go on.")
            plan = tab.plan(TrialInput("Hi"), [ref("openai")])
            tab.begin(plan)
            outcome = await tab.run(plan)
            tab.finished(outcome, "Ctrl+R")
            tab.end()
            with pytest.raises(PlanError, match=EMPTY_REPLY):
                tab.reply_plan("  ")
            with pytest.raises(PlanError, match=NOTHING_TO_REPLY_TO):
                tab.reply_plan("Go on.")
            with pytest.raises(PlanError, match="failed or is still streaming"):
                tab.reply_plan("Go on.", outcome.responses[0].id)

    asyncio.run(go())
    assert len(_chats(vendor)) == 1


def test_run_again_replays_each_models_replies_in_order(providers, vendor):
    script_for(vendor, "openai", Script(text_pieces=["Which one?"]), Script(text_pieces=["Q3."]),
               Script(text_pieces=["Which one, again?"]), Script(text_pieces=["Q3 again."]))
    script_for(vendor, "gemini", Script(text_pieces=["Up."]), Script(text_pieces=["Up again."]))

    async def go():
        async with engine_for(providers) as engine:
            tab = TrialsTab(engine)
            plan = tab.plan(TrialInput("How did sales do?"), [ref("openai"), ref("gemini")])
            tab.begin(plan)
            outcome = await tab.run(plan)
            tab.finished(outcome, "Ctrl+R")
            tab.end()
            reply = tab.reply_plan("The Q3 report.", outcome.responses[0].id)
            tab.begin_reply(reply)
            await tab.run_reply(reply)
            tab.end()

            again = tab.run_again_plan(TrialInput("How did sales do?"))
            tab.begin(again)
            second = await tab.run(again)
            tab.finished(second, "Ctrl+R")
            tab.end()
            return outcome, second, tab

    first, second, tab = asyncio.run(go())
    assert second.trial_id != first.trial_id
    # The new trial: both first answers, and openai's reply replayed as its turn 2; gemini had none.
    assert sorted(tab.turn_of(rid) for rid in tab.figures) == [1, 1, 2]
    (replayed,) = [rid for rid in tab.figures if tab.turn_of(rid) == 2]
    assert tab.pane_of(replayed) == second.responses[0].id
    assert tab.figures[replayed].result.text == "Q3 again."
    last = [r for r in _chats(vendor) if r.protocol == "openai"][-1]
    assert [(m["role"], m["text"]) for m in last.messages] == [
        ("user", "How did sales do?"), ("assistant", "Which one, again?"), ("user", "The Q3 report.")]
    assert len([r for r in _chats(vendor) if r.protocol == "gemini"]) == 2
