"""A reply from the store (issue 16) sends the first prompt's images and files again, on the
first user turn only, in every vendor's format: what the model saw at turn 1 it still sees
at turn 3, without a copy per turn. Against the loopback vendor, which records the messages."""

from __future__ import annotations

import asyncio

import pytest

from desk.core.trial import TrialInput
from tests.engine.conftest import KINDS, engine_for, ref, script_for
from tests.providers.test_multi_turn import CSV, FIRST, _first_user, _said
from tests.vendor_server import Script


@pytest.mark.parametrize("kind", KINDS)
def test_a_reply_sends_the_stored_attachments_once_on_the_first_user_turn(kind, providers, vendor):
    script_for(vendor, kind, Script(text_pieces=["By units or revenue?"]), Script(text_pieces=["North."]),
               Script(text_pieces=["South."]))

    async def go():
        async with engine_for(providers) as engine:
            first = (await engine.trials.run(TrialInput(FIRST.prompt, FIRST.system, FIRST.attachments),
                                             [ref(kind)])).responses[0]
            second = await engine.conversations.reply(first.id, "By revenue.")
            await engine.conversations.reply(second.id, "And the least?")

    asyncio.run(go())
    last = [rec for rec in vendor.requests if rec.method == "POST"][-1]
    assert last.messages == [
        _said("system", "Be brief."), _first_user(kind), _said("assistant", "By units or revenue?"),
        _said("user", "By revenue."), _said("assistant", "North."), _said("user", "And the least?"),
    ]
    assert sum(CSV.text in m["text"] for m in last.messages) == 1
