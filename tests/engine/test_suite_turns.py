"""Suite cases with a scripted clarification (issue 16): when the answer asks the user a
question, the run sends the clarification as the next turn (up to --max-turns) and stores
both turns, linked; cases whose answer does not ask get one turn."""

from __future__ import annotations

import asyncio
import json

import pytest

from desk.core.conversation import asks_question
from tests.engine.conftest import MODELS, PATIENT, engine_for, held, ref, script_for
from tests.vendor_server import Script

CASES = [
    {"id": "asks", "prompt": "Which region sold most?", "expect": "clarify", "clarification": "By revenue, in 2025."},
    {"id": "guesses", "prompt": "Which product sold most?", "expect": "clarify", "clarification": "By units."},
    {"id": "plain", "prompt": "What is 6 x 7?", "expect": "answer"},
]


def _suite(tmp_path, cases=CASES):
    path = tmp_path / "s.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    return path


def _chats(vendor) -> list:
    return [rec for rec in vendor.requests if rec.method == "POST"]


def _go(providers, tmp_path, max_turns=2, cases=CASES):
    async def go():
        async with engine_for(providers) as engine:
            engine.suites.import_suite(_suite(tmp_path, cases), "clar")
            return await engine.suites.run("clar", [ref("openai")], concurrency=1, max_turns=max_turns)

    return asyncio.run(go())


def test_the_clarification_is_sent_when_the_answer_asks(providers, vendor, tmp_path):
    script_for(vendor, "openai", Script(text_pieces=["Do you mean by revenue or by units?"]),
               Script(text_pieces=["North, with $3M."]), Script(text_pieces=["Widgets, I assume by units."]),
               Script(text_pieces=["42."]))
    result = _go(providers, tmp_path)
    assert (result.status, result.sent, result.ok, result.failed) == ("done", 4, 3, 0)
    chats = _chats(vendor)
    assert [(m["role"], m["text"]) for m in chats[1].messages] == [
        ("user", "Which region sold most?"), ("assistant", "Do you mean by revenue or by units?"),
        ("user", "By revenue, in 2025.")]
    assert [len(rec.messages) for rec in chats] == [1, 3, 1, 1]
    # Both turns stored, the second linked to the first, in the case's trial and the run.
    by_case = {}
    for item in result.responses:
        by_case.setdefault(item.case.key, []).append(item.response)
    assert [len(by_case[k]) for k in ("asks", "guesses", "plain")] == [2, 1, 1]
    assert [item.turn for item in result.responses if item.case.key == "asks"] == [1, 2]
    first, second = by_case["asks"]
    link = providers.turns.get(second.id)
    assert (link.parent_response_id, link.turn, link.reply) == (first.id, 2, "By revenue, in 2025.")
    assert first.trial_id == second.trial_id
    assert {r.id for r in providers.runs.responses(result.run_id)} == {r.id for rs in by_case.values() for r in rs}


def test_max_turns_bounds_the_conversation(providers, vendor, tmp_path):
    vendor.set_default(MODELS["openai"], Script(text_pieces=["Could you say which year?"]))
    one = _go(providers, tmp_path, max_turns=1, cases=CASES[:1])
    assert (one.sent, one.ok) == (1, 1)
    vendor.clear()
    three = _go(providers, tmp_path, max_turns=3, cases=CASES[:1])
    assert (three.sent, three.ok) == (3, 1)
    assert [len(rec.messages) for rec in _chats(vendor)] == [1, 3, 5]


def test_resume_after_a_cancel_between_the_turns_sends_only_the_missing_turn(providers, vendor, tmp_path):
    script_for(vendor, "openai", Script(text_pieces=["Do you mean by revenue?"]), Script(stall_after_headers=True))

    async def first():
        async with engine_for(providers, timeouts=PATIENT) as engine:
            engine.suites.import_suite(_suite(tmp_path, CASES[:1]), "clar")
            started = asyncio.Event()
            task = asyncio.ensure_future(engine.suites.run(
                "clar", [ref("openai")], concurrency=1, sink=_Started(started, 2)))
            await started.wait()
            # The second turn is stored before it is sent: cancel once the vendor holds it
            # (stalled), else its stall script would still be queued for the resume.
            await held(vendor, 2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError) as caught:
                await task
            return caught.value.result  # type: ignore[attr-defined]

    cancelled = asyncio.run(first())
    script_for(vendor, "openai", Script(text_pieces=["North."]))

    async def resume():
        async with engine_for(providers) as engine:
            return await engine.suites.resume(cancelled.run_id)

    resumed = asyncio.run(resume())
    assert (resumed.status, resumed.sent, resumed.ok) == ("done", 1, 1)
    last = _chats(vendor)[-1]
    assert [(m["role"], m["text"]) for m in last.messages] == [
        ("user", "Which region sold most?"), ("assistant", "Do you mean by revenue?"), ("user", "By revenue, in 2025.")]
    assert len(_chats(vendor)) == 3
    (answer,) = [r.response for r in resumed.responses]
    assert providers.turns.get(answer.id).turn == 2


class _Started:
    """A sink that sets `event` when the n-th answer starts streaming."""

    def __init__(self, event: asyncio.Event, n: int) -> None:
        self.event, self.n, self.seen = event, n, 0

    def response_started(self, result) -> None:
        self.seen += 1
        if self.seen == self.n:
            self.event.set()

    def text_received(self, result, delta, parts) -> None:
        pass

    def attempt_finished(self, result, attempt) -> None:
        pass

    def response_finished(self, result) -> None:
        pass


@pytest.mark.parametrize("text, asks", [
    ("Which quarter do you mean?", True),
    ("Could you attach the file?", True),
    ("Before I start: is the total in dollars or euros?", True),
    ("North sold most.", False),
    ("Why does this matter? Because totals differ.", False),  # rhetorical, not to the user
    ("Run `ls -l | grep x?` to see.", False),  # a question mark in code
    ("> Do you want this?\nThat was the user's line; the answer is yes.", False),  # quoted
])
def test_the_question_heuristic(text, asks):
    assert asks_question(text) is asks


def _rate(store, response_id: str, outcome: str, uncertainty: str) -> None:
    store.ratings.save(response_id, "ann", {"outcome": outcome, "uncertainty": uncertainty,
                                            "constraints": "na", "quality": 3})


@pytest.mark.parametrize("then, handled", [("success", 1), ("failure", 0)])
def test_by_expect_judges_a_clarify_case_by_its_last_turn(then, handled, providers, vendor, tmp_path):
    script_for(vendor, "openai", Script(text_pieces=["Do you mean by revenue or by units?"]),
               Script(text_pieces=["North, with $3M."]), Script(text_pieces=["Widgets."]))
    result = _go(providers, tmp_path, cases=CASES[:2])
    by_case = {}
    for item in result.responses:
        by_case.setdefault(item.case.key, []).append(item.response)
    asked, answered = by_case["asks"]
    (guessed,) = by_case["guesses"]
    _rate(providers, asked.id, "success", "asked_clarifying")
    _rate(providers, answered.id, then, "confident_correct")
    _rate(providers, guessed.id, "success", "confident_correct")

    async def score():
        async with engine_for(providers) as engine:
            return engine.suites.scorecard(result.run_id)

    (model,) = asyncio.run(score())
    clarify = model.by_expect["clarify"]
    # Two cases, each counted once: the one that asked, by its last turn; the one that guessed.
    assert (clarify.n_rated, clarify.handled, clarify.extra_turn) == (2, handled, 1)


def test_the_paired_comparison_uses_the_last_turn(providers, vendor, tmp_path):
    """openai asks, then fails after the clarification; anthropic guesses right. The asking
    turn, rated a success, must not count: anthropic wins the case."""
    script_for(vendor, "openai", Script(text_pieces=["Do you mean by revenue?"]), Script(text_pieces=["South."]))
    script_for(vendor, "anthropic", Script(text_pieces=["North sold most."]))

    async def go():
        async with engine_for(providers) as engine:
            engine.suites.import_suite(_suite(tmp_path, CASES[:1]), "clar")
            return await engine.suites.run("clar", [ref("openai"), ref("anthropic")], concurrency=1)

    result = asyncio.run(go())
    answers = {}
    for item in result.responses:
        answers.setdefault(item.response.model, []).append(item.response)
    asked, wrong = answers[f"openai/{MODELS['openai']}"]
    (right,) = answers[f"anthropic/{MODELS['anthropic']}"]
    # The later turn is rated first: "the one rated last" alone would pick the asking turn.
    _rate(providers, wrong.id, "failure", "confident_wrong")
    _rate(providers, asked.id, "success", "asked_clarifying")
    _rate(providers, right.id, "success", "confident_correct")

    async def compare():
        async with engine_for(providers) as engine:
            return engine.suites.compare_models(result.run_id, f"openai/{MODELS['openai']}",
                                                f"anthropic/{MODELS['anthropic']}")

    c = asyncio.run(compare())
    assert (c.pairs, c.wins, c.losses, c.ties) == (1, 0, 1, 0)
    # ... and says how many of the paired cases needed the extra turn, per model.
    assert (c.extra_turn_a, c.extra_turn_b) == (1, 0)
    assert c.extra_turn_text == (f"; extra turn: openai/{MODELS['openai']} 1, anthropic/{MODELS['anthropic']} 0 "
                                 "(compared by the last turn)")
    assert c.as_json()["extra_turn_a"] == 1
