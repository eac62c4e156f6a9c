"""What a view (the window's pane, the CLI's progress) sees while an answer streams is
redacted like the stored answer: a configured key the model echoes, whole or split across
deltas, never reaches it."""

from __future__ import annotations

import asyncio

import pytest

from desk.core.response import KeyScrubber, Status
from desk.core.trial import TrialInput
from tests.engine.conftest import config_for, engine_for, ref, script_for
from tests.vendor_server import Script

KEY = "sk-test-ECHOED-0123456789abcdef"
OTHER = "local-proxy-token-9876543210zyx"


class Watch:
    """A view: what it was shown, piece by piece."""

    def __init__(self) -> None:
        self.deltas: list[str] = []
        self.parts: list[list[str]] = []

    def response_started(self, result): pass
    def attempt_finished(self, result, attempt): pass
    def response_finished(self, result): pass

    def text_received(self, result, delta, parts):
        self.deltas.append(delta)
        self.parts.append(list(parts))


@pytest.mark.parametrize("pieces", [
    ["Your key is ", KEY, ", keep it safe."],
    ["Your key is ", KEY[:9], KEY[9:20], KEY[20:], ", keep it safe."],
    ["Your key is sk-", KEY[3:], ", keep it safe."],
], ids=["whole", "split-in-three", "prefix-in-the-lead"])
def test_the_view_never_sees_an_echoed_key(store, vendor, monkeypatch, pieces):
    monkeypatch.setenv("DESK_TEST_ECHO_KEY", KEY)
    store.providers.add(config_for("openai", vendor, key_env="DESK_TEST_ECHO_KEY"))
    script_for(vendor, "openai", Script(text_pieces=pieces))
    watch = Watch()

    async def go():
        async with engine_for(store) as engine:
            return await engine.trials.run(TrialInput("Say it."), [ref("openai")], sink=watch)

    (result,) = asyncio.run(go()).responses
    assert result.status is Status.OK
    shown = "".join(watch.deltas)
    assert KEY not in shown and all(KEY not in "".join(p) for p in watch.parts), watch.deltas
    assert shown.startswith("Your key is [REDACTED]"), shown
    assert result.text == "Your key is [REDACTED], keep it safe."
    assert result.text.startswith(shown)  # what was held back is the finished answer's end


def test_scrubber_holds_back_only_what_could_begin_a_key():
    s = KeyScrubber([KEY, OTHER, "short"])
    assert s.feed("plain text, no secrets ") == "plain text, no secrets "
    assert s.feed("then sk-te") == "then "
    assert s.feed("a cup") == "sk-tea cup"  # it was not a key after all
    assert s.feed("local-proxy-token-98") == ""
    assert s.feed("76543210zyx!") == "[REDACTED]!"
    assert s.feed("ends with sk") == "ends with "
    assert s.close() == "sk"
    assert KeyScrubber([]).feed("anything sk-") == "anything sk-"
