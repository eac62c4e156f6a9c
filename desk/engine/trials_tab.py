"""The Trials tab's state and rules, without Qt: what a send may go with (validation), what
it sends (the plan), which answers stream and their live figures (TTFT, characters, tokens/s,
cost as they arrive), the trial that is open, and what the tab says when a send ends.

The window (desk/ui/main_window.py) lays this out and binds it: its panes follow the events
below, its Send and Cancel run `run` through desk.ui.command. Tests drive it without a window
(tests/engine/test_trials_tab.py). Evented with plain callbacks (desk.engine.tab_events),
called on the thread that changed the state: the GUI thread. With `streams` the sends stream
on a thread of their own (desk.engine.engine_thread) and their events reach here when the
window calls `deliver`, once per frame; without, the engine's sink calls in as chunks come.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from desk.core.attachment import Attachment
from desk.core.conversation import TurnLink
from desk.core.figures import fmt_ms
from desk.core.response import Attempt, ResponseResult, Status
from desk.core.structured import SchemaError, asked_schema, read_schema
from desk.core.tools import ToolCall, ToolsError, read_tools
from desk.core.trial import (
    GenerationSettings,
    ModelRef,
    TrialInput,
    Variant,
    prompt_size_problem,
    trial_size_problem,
    with_results,
)
from desk.engine.answer_figures import AnswerFigures
from desk.engine.engine_thread import EngineThread
from desk.engine.handover import Handover
from desk.engine.local_model import LOCAL_PROVIDER
from desk.engine.runner import ResponseSink
from desk.engine.session import Engine, TrialOutcome
from desk.engine.tab_events import Event
from desk.store.trials import StoredTrial

MAX_OPEN_PANES = 200  # as many as a send may fan out to (the 200-model selection)
NO_MODELS_PICKED = "Pick at least one model on the right before sending."
EMPTY_PROMPT = "The prompt is empty: write or paste the task first."
STILL_READING = "Still reading the attached files: send again in a moment."
STILL_RUNNING = "A trial is still running: cancel it or wait before opening another."
GONE = "That trial is no longer in the store."
EMPTY_REPLY = "The reply is empty: write what the model should hear next."
NOTHING_TO_REPLY_TO = "No answer here can be continued: each failed or is still streaming."
CANCELLED = "Cancelled: every stream was stopped; what arrived is kept and stored."
T = TypeVar("T")


class PlanError(ValueError):
    """A send or an open that cannot go ahead as asked; one sentence for the user."""


# --- one answer's figures ---------------------------------------------------------------------


# --- plans ------------------------------------------------------------------------------------


def composed(prompt: str, systems: Sequence[str], attachments: Sequence[Attachment] = (),
             tools_text: str = "", tool_choice: str = "auto") -> tuple[TrialInput, list[Variant] | None]:
    """The trial the compose panel holds. One system prompt is the trial's own (blank: none);
    two or more are variants A, B, C… (blank: none), and every model answers each. Tools
    (JSON text; blank: none) are offered with the tool choice; PlanError when unusable."""
    try:
        tools = read_tools(tools_text, tool_choice) if tools_text.strip() else None
    except ToolsError as exc:
        raise PlanError(f"Tools: {exc}") from None
    if len(systems) > 1:
        variants = [Variant(chr(65 + i), text if text.strip() else None) for i, text in enumerate(systems)]
        return TrialInput(prompt, None, tuple(attachments), tools), variants
    system = systems[0] if systems and systems[0].strip() else None
    return TrialInput(prompt, system, tuple(attachments), tools), None


def with_schema(settings: Mapping[ModelRef, GenerationSettings], models: Sequence[ModelRef],
                schema_text: str) -> dict[ModelRef, GenerationSettings]:
    """Each model's settings, asking for JSON fitting the schema the compose panel holds
    (blank: free text, the settings as they are); PlanError when the schema is unusable."""
    if not schema_text.strip():
        return dict(settings)
    try:
        schema = read_schema(schema_text)
    except SchemaError as exc:
        raise PlanError(f"Answer schema: {exc}") from None
    return {ref: replace(settings.get(ref, GenerationSettings()), response_schema=schema) for ref in models}


@dataclass(frozen=True)
class SendPlan:
    """A send ready to go: what, to whom (x variant), with which settings, after which trial."""

    trial: TrialInput
    models: tuple[ModelRef, ...]
    settings: Mapping[ModelRef, GenerationSettings]
    variants: tuple[Variant, ...] | None = None
    parent_trial_id: str | None = None

    @property
    def answers(self) -> int:
        """How many answers the send streams (a pane each)."""
        return len(self.models) * (len(self.variants) if self.variants else 1)


@dataclass(frozen=True)
class ReplyPlan:
    """A reply ready to go: `text` to each of these answers' models, each continuing its
    own conversation (one answer: Reply; the latest of every pane: Reply to all)."""

    trial_id: str
    response_ids: tuple[str, ...]
    text: str

    @property
    def answers(self) -> int:
        return len(self.response_ids)


def replied(results: Sequence[ResponseResult]) -> TrialEnd:
    """What a finished reply says."""
    ok = sum(r.status == Status.OK for r in results)
    failed = f", {len(results) - ok} failed" if ok < len(results) else ""
    unstored = [r for r in results if r.store_error]
    problem = "; ".join(f"{r.model}: {r.store_error}" for r in unstored) if unstored else None
    return TrialEnd(f"Reply done: {ok} of {len(results)} answers ok{failed}; stored as the next turn", problem)


@dataclass(frozen=True)
class OpenedTrial:
    """A past trial, ready to show: its input, the variants it used, its answers and models."""

    stored: StoredTrial
    responses: list[ResponseResult]
    variants: list[Variant]
    models: list[ModelRef]

    @property
    def response_schema(self) -> Mapping[str, Any] | None:
        """The schema the trial's answers were asked to fit (None: free text)."""
        return next((s for r in self.responses if (s := asked_schema(r.settings)) is not None), None)

    @property
    def text(self) -> str:
        slowest = fmt_ms(max((r.total_ms or 0 for r in self.responses), default=None))
        return f"Opened trial {self.stored.id} · {len(self.responses)} answers · slowest total {slowest}"


@dataclass(frozen=True)
class TrialEnd:
    """What the tab says when a send ends: a line for the status bar, and a problem (answers
    shown but not stored) that replaces it in the banner."""

    status: str
    problem: str | None = None


def ended(outcome: TrialOutcome, rate_key: str) -> TrialEnd:
    """What a finished send says (`rate_key`: the shortcut that starts rating)."""
    responses = outcome.responses
    ok = sum(r.status == Status.OK for r in responses)
    failed = f", {len(responses) - ok} failed" if ok < len(responses) else ""
    status = f"Trial done: {ok} of {len(responses)} answers ok{failed}; stored · {rate_key} rates them"
    unstored = [r for r in responses if r.store_error]  # shown on screen is not saved: never "stored"
    problem = "; ".join(f"{r.model}: {r.store_error}" for r in unstored) if unstored else None
    return TrialEnd(status, problem)


# --- the tab ----------------------------------------------------------------------------------


class _GenerationSink:
    """The engine's progress for one send -> the tab; a superseded send's events are dropped."""

    def __init__(self, tab: TrialsTab, generation: int) -> None:
        self._tab = tab
        self._generation = generation

    def _current(self) -> bool:
        return self._generation == self._tab.generation

    def response_started(self, result: ResponseResult, at: float | None = None) -> None:
        if self._current():
            self._tab._started(result, at)

    def text_received(self, result: ResponseResult, delta: str, parts: list[str], at: float | None = None) -> None:
        if self._current():
            self._tab._text(result, delta, at)

    def tool_calls_received(self, result: ResponseResult, calls: list[ToolCall]) -> None:
        if self._current():
            self._tab._calls(result, calls)

    def attempt_finished(self, result: ResponseResult, attempt: Attempt) -> None:
        if self._current() and attempt.error_kind is not None:
            self._tab.attempt_failed.emit(result, attempt)

    def response_finished(self, result: ResponseResult) -> None:
        if self._current():
            self._tab._finished(result)


class TrialsTab:
    """The Trials tab's state: the open trial, the send under way and its answers' figures.

    Events: `running_changed(bool)`; `cleared()` (a new send or an open: the answers shown
    are gone); `response_started(result)`, `text_received(result, delta)`,
    `tool_calls_received(result, calls)` (the calls so far, copies),
    `attempt_failed(result, attempt)` (a retry is coming), `response_finished(result)` for
    the current send only.
    """

    def __init__(self, engine: Engine, streams: EngineThread[Engine] | None = None) -> None:
        self.engine = engine
        # Where sends stream: an engine on a thread of its own (the window's), whose progress
        # is handed over for `deliver` to pass on once per frame; None: on the caller's loop.
        self.streams = streams
        self._handover: tuple[Handover, _GenerationSink] | None = None
        self.generation = 0  # bumped by every send, open and new trial: older events are dropped
        self.current_trial_id: str | None = None
        self.current_input: TrialInput | None = None  # the open trial's input (Retry sends it again)
        self._sending: TrialInput | None = None
        self.open_models: list[ModelRef] = []  # the models of the open trial (Run again sends to them)
        self.figures: dict[str, AnswerFigures] = {}  # by response id, in the order they started
        self.turns: dict[str, TurnLink] = {}  # the open trial's later turns, by response id
        self.expected = 0  # answers the current send (or open trial) shows
        self.running = False
        # Run before the engine is asked (the window starts the built-in model here); False stops the send.
        self.before_run: Callable[[Sequence[ModelRef]], Awaitable[bool]] | None = None
        self.running_changed = Event()
        self.cleared = Event()
        self.response_started = Event()
        self.text_received = Event()
        self.tool_calls_received = Event()
        self.attempt_failed = Event()
        self.response_finished = Event()

    # --- validation and plans ---------------------------------------------------------------
    def problem(self, trial: TrialInput, models: Sequence[ModelRef],
                variants: Sequence[Variant] | None = None, *, reading: bool = False) -> str | None:
        """Why this send cannot go (None: it can): attachments still being read (`reading`),
        no model, an empty or oversized prompt, a model of a provider that is not configured."""
        if reading:
            return STILL_READING
        if not models:
            return NO_MODELS_PICKED
        if not trial.prompt.strip() and not trial.attachments:
            return EMPTY_PROMPT
        size = trial_size_problem(trial, variants or ())  # the one limit every surface keeps
        if size:
            return size
        # the built-in model's provider is added when it starts (before_run)
        known = {p.name for p in self.engine.providers.configs.all()} | {LOCAL_PROVIDER}
        unknown = [m for m in models if m.provider not in known]
        if unknown:
            return (f"unknown provider {unknown[0].provider!r} (of {unknown[0]}): add it in Providers… "
                    "or pick another model")
        return None

    def plan(self, trial: TrialInput, models: Sequence[ModelRef],
             settings: Mapping[ModelRef, GenerationSettings] | None = None,
             variants: Sequence[Variant] | None = None, parent_trial_id: str | None = None, *,
             reading: bool = False) -> SendPlan:
        """The send these inputs describe, or PlanError saying why not (also while one runs)."""
        if self.running:
            raise PlanError("A trial is still running: cancel it or wait for it to end.")
        problem = self.problem(trial, models, variants, reading=reading)
        if problem:
            raise PlanError(problem)
        return SendPlan(trial, tuple(models), dict(settings or {}),
                        tuple(variants) if variants else None, parent_trial_id)

    def run_again_plan(self, trial: TrialInput, settings: Mapping[ModelRef, GenerationSettings] | None = None,
                       variants: Sequence[Variant] | None = None,
                       fallback: Sequence[ModelRef] = ()) -> SendPlan | None:
        """A follow-up of the open trial (to its models, else `fallback`); None when none is open."""
        if self.current_trial_id is None:
            return None
        return self.plan(trial, self.open_models or list(fallback), settings, variants, self.current_trial_id)

    def retry_plan(self, response_id: str,
                   settings: Mapping[ModelRef, GenerationSettings] | None = None) -> SendPlan:
        """Ask one answer of the open trial again: its input, to that answer's model (and
        variant) alone, as a follow-up of the open trial (PlanError: no such answer open)."""
        figures = self.figures.get(response_id)
        if figures is None or self.current_input is None or self.current_trial_id is None:
            raise PlanError("That answer is not in the open trial: open its trial first.")
        result = figures.result
        trial = self.current_input
        variants = [result.variant] if result.variant is not None else None
        if variants:  # the stored input carries the first variant's system prompt: the variant's own replaces it
            trial = replace(trial, system=None)
        return self.plan(trial, [ModelRef.parse(result.model)], settings, variants, self.current_trial_id)

    def results_plan(self, response_id: str, results: Sequence[str],
                     settings: Mapping[ModelRef, GenerationSettings] | None = None) -> SendPlan:
        """*Give results*: one answer of the open trial continued with a result for each of
        its tool calls, to that answer's model (and variant), as a follow-up of the open
        trial (PlanError: no such answer open, or results that do not match its calls)."""
        figures = self.figures.get(response_id)
        if figures is None or self.current_input is None or self.current_trial_id is None:
            raise PlanError("That answer is not in the open trial: open its trial first.")
        result = figures.result
        try:
            trial = with_results(self.current_input, result.text, result.tool_calls, results)
        except ToolsError as exc:
            raise PlanError(str(exc)) from None
        variants = [result.variant] if result.variant is not None else None
        if variants:
            trial = replace(trial, system=None)
        return self.plan(trial, [ModelRef.parse(result.model)], settings, variants, self.current_trial_id)

    # --- a send ---------------------------------------------------------------------------------
    def begin(self, plan: SendPlan) -> int:
        """Start showing `plan`'s send (its answers replace those shown); returns its generation."""
        self._sending = plan.trial
        self.generation += 1
        self.figures = {}
        self.turns = {}
        self.expected = plan.answers
        self._set_running(True)
        self.cleared.emit()
        return self.generation

    async def run(self, plan: SendPlan) -> TrialOutcome | None:
        """Send `plan` (after `begin`), streaming into the figures and events; the trial's
        outcome, or None when `before_run` stopped it. EngineError says why it could not
        start; a cancel propagates (what arrived is stored). `end` must follow."""
        generation = self.generation
        if self.before_run is not None and not await self.before_run(plan.models):
            return None
        trial, models, settings, variants = plan.trial, list(plan.models), dict(plan.settings), plan.variants
        # Run again replays the user's later turns too, each model's own, in order.
        replies = self.engine.conversations.user_turns(plan.parent_trial_id) if plan.parent_trial_id else {}

        async def send(engine: Engine, sink: ResponseSink) -> TrialOutcome:
            outcome = await engine.trials.run(
                trial, models, settings, parent_trial_id=plan.parent_trial_id,
                sink=sink, variants=list(variants) if variants else None,
            )
            if replies:
                await engine.conversations.replay(replies, outcome.responses, sink=sink)
            return outcome

        return await self._streamed(send, generation, [m.provider for m in models])

    async def _streamed(self, send: Callable[[Engine, ResponseSink], Awaitable[T]], generation: int,
                        providers: Sequence[str]) -> T:
        """`send` on the streams' engine, its progress handed over to `deliver`, its providers
        with the keys this engine holds (else on this engine, its progress told at once)."""
        sink = _GenerationSink(self, generation)
        if self.streams is None:
            return await send(self.engine, sink)
        keys = await self.engine.providers.resolved_keys(providers)
        handover = Handover()
        self._handover = (handover, sink)

        async def there(engine: Engine) -> T:
            engine.providers.use_keys(keys)
            return await send(engine, handover)

        try:
            return await self.streams.run(there)
        finally:  # what is still handed over is told before the send's end (or cancel) is
            self.deliver()
            self._handover = None

    def deliver(self) -> int:
        """Pass on what the streams handed over since the last call (the window calls it once
        per frame): each answer's text since then as one delta. How many events."""
        if self._handover is None:
            return 0
        handover, sink = self._handover
        return handover.drain(sink)

    def finished(self, outcome: TrialOutcome, rate_key: str) -> TrialEnd:
        """The send's trial is the open one now (Run again follows it up); what to say."""
        self.current_trial_id = outcome.trial_id
        self.current_input = self._sending
        self.open_models = list(dict.fromkeys(ModelRef.parse(r.model) for r in outcome.responses))
        return ended(outcome, rate_key)

    def end(self) -> None:
        """The send's task is over (done, failed or cancelled)."""
        self._set_running(False)

    def is_current(self, generation: int) -> bool:
        return generation == self.generation

    def done_count(self) -> int:
        return sum(f.finished for f in self.figures.values())

    def streaming_ids(self) -> list[str]:
        return [rid for rid, f in self.figures.items() if f.streaming]

    def progress_text(self, cancel_key: str) -> str:
        return f"Streaming: {self.done_count()} of {self.expected} answers done · {cancel_key} cancels"

    # --- conversations ----------------------------------------------------------------------
    def turn_of(self, response_id: str) -> int:
        """An answer's turn in its conversation (1: the trial's own answer)."""
        link = self.turns.get(response_id)
        return link.turn if link else 1

    def pane_of(self, response_id: str) -> str:
        """The pane an answer streams into: that of its conversation's first answer."""
        while (link := self.turns.get(response_id)) is not None:
            response_id = link.parent_response_id
        return response_id

    def reply_plan(self, text: str, response_id: str | None = None) -> ReplyPlan:
        """`text` to one answer of the open trial (Reply), or with None to the latest answer
        of every pane that has one to continue (Reply to all); PlanError saying why not."""
        if self.running:
            raise PlanError("A trial is still running: cancel it or wait for it to end.")
        if self.current_trial_id is None:
            raise PlanError("Open or send a trial first: a reply continues one of its answers.")
        if not text.strip():
            raise PlanError(EMPTY_REPLY)
        if problem := prompt_size_problem(text, "reply"):
            raise PlanError(problem)
        latest: dict[str, ResponseResult] = {}
        for rid, figures in self.figures.items():  # in the order they started: later turns last
            latest[self.pane_of(rid)] = figures.result
        if response_id is not None:
            if response_id not in self.figures:
                raise PlanError("That answer is not in the open trial: open its trial first.")
            chosen = [self.figures[response_id].result]
        else:
            chosen = list(latest.values())
        ready = [r for r in chosen if r.status != Status.STREAMING and not r.failed]
        if not ready:
            raise PlanError(NOTHING_TO_REPLY_TO if response_id is None else
                            "That answer failed or is still streaming: there is nothing to reply to.")
        return ReplyPlan(self.current_trial_id, tuple(r.id for r in ready), text)

    def begin_reply(self, plan: ReplyPlan) -> int:
        """Start showing a reply's answers below the ones they continue (nothing is cleared)."""
        self.generation += 1
        self.expected = len(self.figures) + plan.answers
        self._set_running(True)
        return self.generation

    async def run_reply(self, plan: ReplyPlan) -> list[ResponseResult]:
        """Send a reply (after `begin_reply`), streaming into the figures and events like a
        send; EngineError says why it could not start. `end` must follow."""
        providers = [ModelRef.parse(self.figures[rid].result.model).provider
                     for rid in plan.response_ids if rid in self.figures]

        async def send(engine: Engine, sink: ResponseSink) -> list[ResponseResult]:
            return await engine.conversations.reply_many(list(plan.response_ids), plan.text, sink=sink)

        return await self._streamed(send, self.generation, providers)

    # --- past trials ------------------------------------------------------------------------
    def open(self, trial_id: str) -> OpenedTrial:
        """Make a stored trial the open one (PlanError: running, gone, or a load run's)."""
        if self.running:
            raise PlanError(STILL_RUNNING)
        loaded = self.engine.trials.load(trial_id)
        if loaded is None:
            raise PlanError(GONE)
        stored, responses = loaded
        if len(responses) > MAX_OPEN_PANES:
            # A load run's trial holds one answer per request: hundreds of panes would hold the
            # window for seconds and say less than the Load tab's plots.
            raise PlanError(f"This trial holds {len(responses):,} answers (a load run): "
                            "open it in the Load tab's list of runs instead.")
        variants: list[Variant] = []
        for r in responses:
            if r.variant is not None and r.variant not in variants:
                variants.append(r.variant)
        models = list(dict.fromkeys(ModelRef.parse(r.model) for r in responses))
        self.generation += 1
        self.current_trial_id = trial_id
        self.current_input = stored.input
        self.open_models = models
        self.expected = len(responses)
        self.figures = {r.id: AnswerFigures(r, finished=True) for r in responses}
        self.turns = {link.response_id: link for link in self.engine.conversations.turns.for_trial(trial_id)}
        self.cleared.emit()
        return OpenedTrial(stored, responses, variants, models)

    def new_trial(self) -> bool:
        """Forget the open trial (False while a send runs: nothing changes)."""
        if self.running:
            return False
        self.generation += 1
        self.current_trial_id = self.current_input = None
        self.figures = {}
        self.turns = {}
        self.expected = 0
        self.cleared.emit()
        return True

    # --- the sink's side --------------------------------------------------------------------
    def _started(self, result: ResponseResult, at: float | None = None) -> None:
        link = self.engine.conversations.turns.get(result.id)  # a reply's: linked before it streams
        if link is not None:
            self.turns[result.id] = link
            self.expected = max(self.expected, len(self.figures) + 1)  # a replayed turn adds a pane
        # `at`: when it started on the streaming thread, so the live clock is not a frame late
        self.figures[result.id] = AnswerFigures(result, started=at if at is not None else time.monotonic())
        self.response_started.emit(result)

    def _text(self, result: ResponseResult, delta: str, at: float | None = None) -> None:
        figures = self.figures.get(result.id)
        if figures is not None:
            if figures.first_text is None and delta:
                figures.first_text = at if at is not None else time.monotonic()
            figures.chars += len(delta)
        self.text_received.emit(result, delta)

    def _calls(self, result: ResponseResult, calls: list[ToolCall]) -> None:
        figures = self.figures.get(result.id)
        if figures is not None:
            figures.calls = len(calls)
            if figures.first_text is None:  # the first tool-call byte is the first token
                figures.first_text = time.monotonic()
        self.tool_calls_received.emit(result, calls)

    def _finished(self, result: ResponseResult) -> None:
        figures = self.figures.setdefault(result.id, AnswerFigures(result))
        figures.result = result
        figures.finished = True
        self.response_finished.emit(result)

    def _set_running(self, running: bool) -> None:
        if running != self.running:
            self.running = running
            self.running_changed.emit(running)
