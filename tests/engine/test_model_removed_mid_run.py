"""A model removed from the configuration while a trial streams on it.

Removing a model only takes it off the list the picker offers: the answer in flight
completes and is stored, the other model's answer is unaffected, and earlier trials of
that model and their ratings stay as they were.
"""

from __future__ import annotations

import asyncio

from desk.core.response import Status
from desk.core.trial import TrialInput
from desk.engine.runner import NullSink
from tests.engine.conftest import TEXT, engine_for, ref, script_for
from tests.vendor_server import Script

RATING = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "na", "quality": 4}
PIECES = ["first. ", *[f"part {i}. " for i in range(8)]]


class FirstText(NullSink):
    """Set when the first piece of `model`'s answer reaches the engine."""

    def __init__(self, model: str) -> None:
        self.model, self.came = model, asyncio.Event()

    def text_received(self, result, delta, parts) -> None:
        if result.model == self.model:
            self.came.set()


def test_model_removed_while_it_streams(providers, vendor):
    slow, other = ref("openai"), ref("anthropic")

    async def go():
        async with engine_for(providers) as engine:
            engine.set_rater_name("ana")
            before = await engine.trials.run(TrialInput("earlier"), [slow])
            rating = engine.ratings.save_rating(before.responses[0].id, RATING)

            script_for(vendor, "openai", Script(text_pieces=PIECES, interval_ms=60))
            first = FirstText(str(slow))
            running = asyncio.create_task(engine.trials.run(TrialInput("stream slowly"), [slow, other], sink=first))
            await asyncio.wait_for(first.came.wait(), 10)  # the slow answer is streaming

            engine.providers.remove_model(slow)
            assert slow not in engine.providers.configured_models() and other in engine.providers.configured_models()
            assert not running.done()  # the removal really happened mid-stream
            outcome = await running
            return engine, before, rating, outcome

    engine, before, rating, outcome = asyncio.run(go())
    by_model = {r.model: r for r in outcome.responses}
    answer = by_model[str(slow)]
    assert (answer.status, answer.text, answer.error_kind) == (Status.OK, "".join(PIECES), None)
    assert (by_model[str(other)].status, by_model[str(other)].text) == (Status.OK, TEXT)

    stored = {r.model: r for r in engine.trials.load(outcome.trial_id)[1]}
    assert stored[str(slow)].status == Status.OK and stored[str(slow)].text == "".join(PIECES)
    assert stored[str(other)].status == Status.OK

    assert slow not in engine.providers.configured_models()  # finishing the answer does not bring it back

    # What was there before the removal is all still there.
    earlier = engine.trials.load(before.trial_id)
    assert earlier is not None and earlier[1][0].text == TEXT and earlier[1][0].model == str(slow)
    assert [r.id for r in engine.ratings.saved.current([before.responses[0].id])] == [rating.id]
    assert {t.id for t in engine.trials.history.list()} >= {before.trial_id, outcome.trial_id}
