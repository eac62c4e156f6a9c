"""Suite runs: every case (x `repeat` samples) of a suite, sent to every chosen model.

A run is stored before anything is sent (a row of `runs`, kind 'suite'). Each (case,
sample) becomes one ordinary trial when its first answer starts, and every model's answer
is an ordinary response of it, recorded as it streams by the same recorder as any trial;
so rating, blind mode, preferences and export work on a run unchanged.

A *cell* is (case, sample, model). At most `concurrency` cells are in flight at once,
across all models, taken in case order. A cell is done when it has an answer with
status ok; resuming a run (after a cancel, a crash or a kill -9) sends only the cells
that are not done, so nothing already answered is sent, or billed, twice.

After each ok answer to a `follow_constraints` case that carries constraints, the
constraints are checked in code (desk.core.constraints, when every one of them is
supported) and the verdict is stored as a rating by rater "auto": `constraints` followed
or violated by IFBench's checker, desk's reading beside it (desk.core.constraint_reading),
and a one-line note saying why.
"""


from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from desk.core.constraint_reading import DESK_KEY, auto_values
from desk.core.conversation import Conversation, TurnLink, needs_another_turn
from desk.core.rating import Rating
from desk.core.response import ResponseResult, Status
from desk.core.suite import AUTO_RATER, Case, Suite
from desk.core.trial import GenerationSettings, ModelRef, TrialInput
from desk.engine.machine import conditions_since, load_average
from desk.engine.ports.conversations import Turns
from desk.engine.ports.suites import RunLedger, RunRecords
from desk.engine.ports.targets import Targets
from desk.engine.pricing import wait_for_preload
from desk.engine.recorder import FanoutSink
from desk.engine.runner import GuardedSink, ResponseSink, Runner, Target
from desk.engine.suite_records import (
    PERSISTENT_KINDS,
    Progress,
    SuiteResponse,
    SuiteRunCancelled,
    SuiteRunInfo,
    SuiteRunResult,
    run_info,
)

log = logging.getLogger("desk.engine.suite")

ACTIVE: set[str] = set()  # suite runs this process is sending now


def find_run(ledger: RunLedger, run_id: str, counts: tuple[int, int] | None = None) -> SuiteRunInfo | None:
    """A run as listed (its state judged against the runs this process is sending); its
    counts given when the caller has worked them out (desk.store.suites.cell_counts)."""
    found = ledger.suite_runs(1, run_id=run_id, active=ACTIVE, counts=counts)
    return run_info(found[0]) if found else None


@dataclass(frozen=True)
class SendPlan:
    """What one call sends: the run's cells not yet done, `concurrency` at once."""

    run_id: str
    suite: Suite
    models: Sequence[ModelRef]
    repeat: int
    concurrency: int
    settings: GenerationSettings
    max_turns: int = 2  # a case's clarification is sent while the answer asks, up to this turn


@dataclass(frozen=True)
class Listeners:
    """The caller's callbacks (see SuiteService.run); a failing one never stops the run."""

    progress: Progress | None = None
    on_response: Callable[[SuiteResponse], None] | None = None
    on_start: Callable[[str], None] | None = None
    sink: ResponseSink | None = None


class _Cell:
    __slots__ = ("case", "model", "sample", "seq", "target", "tip")

    def __init__(self, case: Case, sample: int, model: int, target: Target, seq: int,
                 tip: tuple[ResponseResult, int] | None = None) -> None:
        self.case, self.sample, self.model, self.target, self.seq = case, sample, model, target, seq
        self.tip = tip  # resumed mid-conversation: its last ok answer and that answer's turn

    @property
    def tip_answer(self) -> ResponseResult | None:
        return self.tip[0] if self.tip else None


class RunSender:
    """Sends the cells of a stored run, records each answer and finishes the run's row."""

    def __init__(self, ledger: RunLedger, runs: RunRecords, targets: Targets, runner: Runner,
                 recorder: Callable[[], ResponseSink], turns: Turns) -> None:
        self.turns = turns
        self.ledger = ledger
        self.runs = runs
        self.targets = targets
        self.runner = runner
        self.recorder = recorder  # a new sink writing answers to the store, one per call

    async def send(self, plan: SendPlan, listeners: Listeners) -> SuiteRunResult:
        """Send every cell of `plan` without an ok answer; raises SuiteRunCancelled (after
        storing the run as cancelled) when the task is cancelled."""
        before = find_run(self.ledger, plan.run_id)
        load_start = load_average()
        ACTIVE.add(plan.run_id)
        call = _Call(self, plan, listeners)
        status = "running"
        try:
            if listeners.on_start is not None:
                _notify(listeners.on_start, plan.run_id)
            await call.run()
            status = "done"
        except asyncio.CancelledError:
            status = "cancelled"
        finally:
            ACTIVE.discard(plan.run_id)
            result = call.result
            summary = {"sent": result.sent, "ok": result.ok, "failed": result.failed, "skipped": result.skipped,
                       "not_stored": len(result.not_stored),
                       "conditions": [c.as_json() for c in (*(before.conditions if before else ()),
                                                            conditions_since(load_start))]}
            if status == "running" or (status == "done" and result.not_stored):
                status = "interrupted"  # an unexpected error or lost answers: the run can be resumed
            self.runs.finish(plan.run_id, status, summary)
        result.status = status
        result.info = find_run(self.ledger, plan.run_id)
        if status == "cancelled":
            raise SuiteRunCancelled(result)
        return result

    def auto_verdict(self, case: Case, answer: ResponseResult) -> Rating | None:
        """Check a follow_constraints answer in code and store the verdict as rater 'auto'."""
        if answer.status != Status.OK or case.expect != "follow_constraints" or not case.constraints:
            return None
        try:
            from desk.core import constraints as checker
        except ImportError:
            return None
        specs = [c.as_json() for c in case.constraints]
        try:
            if not checker.supported(specs):
                return None
            values = auto_values(checker.check(answer.text, specs))
            desk_reading = {DESK_KEY: values.pop(DESK_KEY)}  # outside the rubric, beside the official verdict
            return self.ledger.save_partial_rating(answer.id, AUTO_RATER, values, desk_reading)
        except Exception:  # a checker bug must not stop the run; the answer is stored
            log.exception("automatic constraint check failed for case %s", case.key)
            return None


class _Call:
    """One call's sending: its cells, the sinks answers go to, and what it has done."""

    def __init__(self, sender: RunSender, plan: SendPlan, listeners: Listeners) -> None:
        self.sender = sender
        self.plan = plan
        self.listeners = listeners
        self.result = SuiteRunResult(plan.run_id, "done")
        self.finished = 0
        self.total = len(plan.suite.cases) * plan.repeat * len(plan.models)
        self.recorder = sender.recorder()
        self.view = GuardedSink(listeners.sink) if listeners.sink is not None else None
        self.guarded = GuardedSink(FanoutSink(self.recorder, self.view) if self.view is not None else self.recorder)

    async def run(self) -> None:
        plan, runner = self.plan, self.sender.runner
        targets = [self.sender.targets.target(m, plan.settings) for m in plan.models]
        await asyncio.to_thread(wait_for_preload)
        # prices read and the catalog loaded off the loop, not mid-stream nor per request
        await asyncio.to_thread(runner.pricer.hold, [(t.config, t.ref.model) for t in targets])
        todo = self._todo(targets)
        self.result.skipped = self.total - len(todo)
        self.finished = self.result.skipped
        if self.listeners.progress is not None:
            _notify(self.listeners.progress, self.finished, self.total)
        cells = iter(todo)
        workers = [asyncio.ensure_future(self._worker(cells)) for _ in range(min(plan.concurrency, len(todo)))]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise

    def _todo(self, targets: list[Target]) -> list[_Cell]:
        """The cells not done: those without an ok answer, and those whose last ok answer
        asks a question the case's clarification answers (resumed at the next turn)."""
        plan, models = self.plan, self.plan.models
        tips = self._tips()
        todo = []
        for case in plan.suite.cases:
            for sample in range(plan.repeat):
                for m in range(len(models)):
                    tip = tips.get((case.id or "", sample, str(models[m])))
                    if tip is not None and not needs_another_turn(tip[0], tip[1], case.clarification, plan.max_turns):
                        continue
                    seq = (case.position * plan.repeat + sample) * len(models) + m
                    todo.append(_Cell(case, sample, m, targets[m], seq, tip))
        return todo

    def _tips(self) -> dict[tuple[str, int, str], tuple[ResponseResult, int]]:
        """Each cell's ok answer of the latest turn, with its turn number."""
        statuses = [s for s in self.sender.ledger.cell_statuses(self.plan.run_id) if s[3] == Status.OK.value]
        links = self.sender.turns.for_responses([s[4] for s in statuses])
        latest: dict[tuple[str, int, str], tuple[int, str]] = {}
        for case_id, sample, model, _, rid in statuses:
            turn = links[rid].turn if rid in links else 1
            if turn >= latest.get((case_id, sample, model), (0, ""))[0]:
                latest[(case_id, sample, model)] = (turn, rid)
        answers = self.sender.ledger.answers([rid for _, rid in latest.values()])
        return {cell: (answers[rid], turn) for cell, (turn, rid) in latest.items() if rid in answers}

    async def _worker(self, cells: Iterator[_Cell]) -> None:
        result = self.result
        for cell in cells:
            if result.not_stored:  # the store refuses writes: sending more only loses more
                result.not_sent += 1
                continue
            if str(cell.target.ref) in result.held_back:
                result.not_sent += 1
                continue
            await self._send(cell)

    async def _send(self, cell: _Cell) -> None:
        """Send the cell's turns: the case, then its clarification while the answer asks
        (resumed cells start after their last ok turn). The cell counts by its last answer."""
        trial_id = self.sender.ledger.cell_trial(self.plan.run_id, cell.case, cell.sample)
        if cell.tip is None:
            answer = await self._turn(cell, trial_id, cell.case.trial_input(), None)
            conversation = Conversation(trial_id, cell.case.trial_input(), (answer,), ()) if answer else None
            turn = 1
        else:
            answer, turn = cell.tip
            conversation = self._stored_conversation(trial_id, cell.case, answer)
        clarification = cell.case.clarification
        while answer is not None and conversation is not None and needs_another_turn(
                answer, turn, clarification, self.plan.max_turns):
            if answer is not cell.tip_answer:  # a resumed cell's stored answer was told before
                self._tell(cell, answer, None, turn)
            link = TurnLink("", answer.id, turn + 1, clarification)
            answer = await self._turn(cell, trial_id, conversation.continued(clarification), link)
            if answer is not None:
                conversation = Conversation(trial_id, conversation.first, (*conversation.answers, answer),
                                            (*conversation.replies, clarification))
            turn += 1
        if answer is not None:
            self._count(cell, answer, self.sender.auto_verdict(cell.case, answer), turn)

    def _stored_conversation(self, trial_id: str, case: Case, tip: ResponseResult) -> Conversation | None:
        """A resumed cell's conversation up to its last ok answer, read back from the store."""
        chain = self.sender.turns.chain(tip.id)
        ids = [chain[0].parent_response_id if chain else tip.id, *(link.response_id for link in chain)]
        answers = self.sender.ledger.answers(ids)
        if any(i not in answers for i in ids):
            return None
        return Conversation(trial_id, case.trial_input(), tuple(answers[i] for i in ids),
                            tuple(link.reply for link in chain))

    async def _turn(self, cell: _Cell, trial_id: str, sent: TrialInput, link: TurnLink | None) -> ResponseResult | None:
        """One answer of the cell, stored (and linked to the run, and to the answer it
        continues) before a byte is sent; None when the store refused it."""
        result, runner = self.result, self.sender.runner
        answer = runner.new_result(trial_id, cell.target)
        self.recorder.response_started(answer)  # stored before a byte is sent, or nothing is sent
        if answer.store_error is None:
            try:
                self.sender.ledger.link_response(answer.id, self.plan.run_id, cell.seq)
                if link is not None:
                    self.sender.turns.add(TurnLink(answer.id, link.parent_response_id, link.turn, link.reply))
            except Exception as exc:
                answer.store_error = f"the answer could not be stored (linking it to the run failed: {exc})"
        if answer.store_error is not None:
            result.not_stored.append(f"{_where(cell)}: {answer.store_error}")
            return None
        if self.view is not None:
            self.view.response_started(answer)
        result.sent += 1
        await runner.run_response(cell.target, sent, answer, self.guarded)
        if answer.store_error is not None:  # shown, paid for, but not saved: lost, not ok
            result.not_stored.append(f"{_where(cell)}: {answer.store_error}")
            return None
        return answer

    def _tell(self, cell: _Cell, answer: ResponseResult, auto: Rating | None, turn: int) -> None:
        """Hand an answer to the caller's on_response (every turn's, the cell's last included)."""
        item = SuiteResponse(self.plan.run_id, cell.case, cell.sample, answer, auto, turn)
        self.result.responses.append(item)
        if self.listeners.on_response is not None:
            _notify(self.listeners.on_response, item)

    def _count(self, cell: _Cell, answer: ResponseResult, auto: Rating | None, turn: int = 1) -> None:
        result = self.result
        if answer.status == Status.OK:
            result.ok += 1
            self.finished += 1
        else:
            result.failed += 1
            if answer.error_kind in PERSISTENT_KINDS:
                result.held_back.setdefault(
                    str(cell.target.ref), f"{answer.error_kind.value}: {answer.error_message or 'no message'}")
        self._tell(cell, answer, auto, turn)  # first, so a progress line counts this answer's outcome
        if self.listeners.progress is not None:
            _notify(self.listeners.progress, self.finished, self.total)


def _where(cell: _Cell) -> str:
    return f"case {cell.case.key} sample {cell.sample}, {cell.target.ref}"


def _notify(callback: Callable[..., None], *args: Any) -> None:
    """Tell a caller's callback; a failing one (a closed pipe, a view bug) never stops the run."""
    try:
        callback(*args)
    except Exception:
        log.exception("suite run callback %r failed; the run goes on", callback)
