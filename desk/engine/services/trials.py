"""Trials: one prompt sent to several models at once, recorded as it streams, and read back."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace

from desk.core.response import ResponseResult
from desk.core.tools import ToolsError
from desk.core.trial import (
    GenerationSettings,
    ModelRef,
    TrialInput,
    Variant,
    trial_size_problem,
    with_results,
)
from desk.engine.errors import EngineError
from desk.engine.ports.targets import Targets
from desk.engine.ports.trials import ResponseReader, Responses, TrialHistory, Trials
from desk.engine.recorder import FanoutSink, RedactingSink, StoreRecorder
from desk.engine.runner import ResponseSink, Runner
from desk.store.errors import StoreError
from desk.store.trials import StoredTrial


class TrialNotStored(EngineError):
    """The store refused the trial itself (a full disk, a read-only file): nothing was sent."""


@dataclass(frozen=True)
class TrialOutcome:
    trial_id: str
    responses: list[ResponseResult]


class TrialService:
    """Runs trials and reads them back. Pure reads go through the public ports: `history`
    (trials, newest first, searchable) and `responses` (one stored answer)."""

    def __init__(self, trials: Trials, responses: Responses, targets: Targets, runner: Runner,
                 remember_model: Callable[[ModelRef], None]) -> None:
        self.history: TrialHistory = trials
        self.responses: ResponseReader = responses
        self._trials = trials
        self._answers = responses
        self._targets = targets
        self._runner = runner
        self._remember_model = remember_model  # so the model picker offers it next time

    async def run(
        self,
        trial: TrialInput,
        models: Sequence[ModelRef],
        settings: GenerationSettings | Mapping[ModelRef, GenerationSettings] | None = None,
        *,
        parent_trial_id: str | None = None,
        sink: ResponseSink | None = None,
        variants: Sequence[Variant] | None = None,
    ) -> TrialOutcome:
        """Store the trial, run every model (x variant) concurrently, record as it streams.

        EngineError for a request that cannot start (no model, an empty or oversized prompt,
        an unknown provider); TrialNotStored when the store refuses the trial: nothing is sent
        either way."""
        if not models:
            raise EngineError("choose at least one model")
        problem = trial_size_problem(trial, variants or ())
        if problem:
            raise EngineError(problem)
        if not trial.prompt.strip() and not trial.attachments:
            raise EngineError("the prompt is empty")

        def settings_for(ref: ModelRef) -> GenerationSettings:
            if isinstance(settings, Mapping):
                return settings.get(ref, GenerationSettings())
            return settings or GenerationSettings()

        await self._targets.prepare([ref.provider for ref in models])
        each: Sequence[Variant | None] = variants or [None]
        targets = [self._targets.target(ref, settings_for(ref), variant) for ref in models for variant in each]
        if variants:
            trial = replace(trial, system=variants[0].system)
        try:
            trial_id = self._trials.create(trial, parent_trial_id=parent_trial_id)
        except StoreError as exc:
            raise TrialNotStored(f"{exc}; nothing was sent") from None
        for ref in models:
            self._remember_model(ref)
        recorder = StoreRecorder(self._answers, clean=self._runner.scrub)
        known_keys = self._runner.known_keys
        view = RedactingSink(sink, lambda: known_keys().values()) if sink is not None else None
        fan = FanoutSink(recorder, view) if view is not None else recorder
        results = await self._runner.run_trial(trial_id, trial, targets, fan)
        return TrialOutcome(trial_id, results)

    async def give_results(self, response_id: str, results: Sequence[str] | None, *,
                           sink: ResponseSink | None = None) -> TrialOutcome:
        """*Give results*: the answer's tool calls with a result for each (in the calls'
        order; None: the canned results its trial carries) go back to the same model, with
        the same settings, as a new trial that continues the answer's (its parent).
        EngineError when the answer made no call, or the results do not match its calls."""
        answer = self._answers.get(response_id)
        if answer is None:
            raise EngineError(f"no answer {response_id!r}")
        if not answer.tool_calls:
            raise EngineError("that answer made no tool call to give a result for")
        stored = self._trials.get(answer.trial_id)
        if stored is None:
            raise EngineError(f"the trial of answer {response_id!r} is gone")
        if results is None:
            results = stored.input.tools.canned if stored.input.tools else ()
            if not results:
                raise EngineError("this answer's trial carries no canned tool results")
        try:
            trial = with_results(stored.input, answer.text, answer.tool_calls, results)
        except ToolsError as exc:
            raise EngineError(str(exc)) from None
        known = {f.name for f in fields(GenerationSettings)}
        settings = GenerationSettings(**{k: v for k, v in answer.settings.items() if k in known})
        variants = [answer.variant] if answer.variant is not None else None
        return await self.run(trial, [ModelRef.parse(answer.model)], settings,
                              parent_trial_id=stored.id, sink=sink, variants=variants)

    def load(self, trial_id: str) -> tuple[StoredTrial, list[ResponseResult]] | None:
        """A trial as sent and its answers, or None when there is no such trial."""
        stored = self._trials.get(trial_id)
        if stored is None:
            return None
        return stored, self._answers.for_trial(trial_id)
