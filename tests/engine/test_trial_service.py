"""TrialService is built from narrow ports (trials, responses, targets, the runner), not from
the engine: any object that has the port's methods will do, and the rules of a trial (what is
refused before anything is sent, what is stored) hold whatever stands behind them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from desk.core.response import Attempt, ResponseResult
from desk.core.trial import GenerationSettings, ModelRef, TrialInput, Variant
from desk.engine.errors import EngineError
from desk.engine.ports.targets import Targets
from desk.engine.runner import Target
from desk.engine.services.trials import TrialNotStored, TrialService
from desk.store.errors import StoreError
from desk.store.responses import ResponseTable
from desk.store.trials import StoredTrial, TrialTable
from tests.engine.conftest import TEXT, engine_for, ref


class WatchedResponses:
    """The store's responses, with every write noted in `writes`."""

    def __init__(self, table: ResponseTable) -> None:
        self.table = table
        self.writes: list[str] = []

    def get(self, response_id: str) -> ResponseResult | None:
        return self.table.get(response_id)

    def for_trial(self, trial_id: str) -> list[ResponseResult]:
        return self.table.for_trial(trial_id)

    def create(self, result: ResponseResult) -> None:
        self.writes.append("create")
        self.table.create(result)

    def update_text(self, response_id: str, text: str, reasoning_text: str = "") -> None:
        self.writes.append("text")
        self.table.update_text(response_id, text, reasoning_text)

    def save_attempt(self, response_id: str, attempt: Attempt) -> None:
        self.writes.append("attempt")
        self.table.save_attempt(response_id, attempt)

    def finish(self, result: ResponseResult) -> None:
        self.writes.append("finish")
        self.table.finish(result)


class RefusingTrials(TrialTable):
    """Trials whose every write is refused, as by a full disk."""

    def create(self, trial: TrialInput, *, trial_id: str | None = None,
               parent_trial_id: str | None = None) -> str:
        raise StoreError("the trial was not stored (database or disk is full)")


class WatchedTargets:
    """The engine's targets, with the providers asked for noted in `prepared`."""

    def __init__(self, inner: Targets) -> None:
        self.inner = inner
        self.prepared: list[str] = []

    async def prepare(self, names: Sequence[str]) -> None:
        self.prepared += names
        await self.inner.prepare(names)

    def target(self, ref: ModelRef, settings: GenerationSettings | None = None,
               variant: Variant | None = None) -> Target:
        return self.inner.target(ref, settings, variant)


def test_a_trial_runs_on_the_ports_it_is_given_and_reads_back(providers, vendor):
    remembered: list[ModelRef] = []

    async def go():
        async with engine_for(providers) as engine:
            responses = WatchedResponses(providers.responses)
            service = TrialService(providers.trials, responses, engine.providers, engine.runner, remembered.append)
            return responses, service, await service.run(TrialInput("Say hello."), [ref("openai")])

    responses, service, outcome = asyncio.run(go())
    (answer,) = outcome.responses
    assert answer.text == TEXT and answer.store_error is None
    assert responses.writes[0] == "create" and responses.writes[-1] == "finish"
    assert remembered == [ref("openai")]  # offered by the model picker next time
    loaded = service.load(outcome.trial_id)
    assert loaded is not None
    stored, answers = loaded
    assert isinstance(stored, StoredTrial) and stored.input.prompt == "Say hello."
    assert [r.id for r in answers] == [answer.id]
    assert [t.id for t in service.history.list()] == [outcome.trial_id]
    assert service.responses.get(answer.id).text == TEXT
    assert service.load("no-such-trial") is None


def test_a_refused_trial_sends_nothing_and_remembers_nothing(providers, vendor):
    remembered: list[ModelRef] = []

    async def go():
        async with engine_for(providers) as engine:
            service = TrialService(RefusingTrials(providers.db), providers.responses, engine.providers, engine.runner,
                                   remembered.append)
            await service.run(TrialInput("Say hello."), [ref("openai")])

    with pytest.raises(TrialNotStored, match=r"\(database or disk is full\); nothing was sent"):
        asyncio.run(go())
    assert [r for r in vendor.requests if r.method == "POST"] == []
    assert remembered == [] and providers.responses.all() == []


@pytest.mark.parametrize(("trial", "models", "message"), [
    (TrialInput("hi"), [], "choose at least one model"),
    (TrialInput("   "), [ref("openai")], "the prompt is empty"),
])
def test_a_bad_request_is_refused_before_any_provider_is_loaded(providers, vendor, trial, models, message):
    async def go():
        async with engine_for(providers) as engine:
            targets = WatchedTargets(engine.providers)
            service = TrialService(providers.trials, providers.responses, targets, engine.runner,
                                   lambda ref: None)
            try:
                await service.run(trial, models)
            finally:
                assert targets.prepared == []

    with pytest.raises(EngineError, match=message):
        asyncio.run(go())
    assert providers.trials.list() == []
