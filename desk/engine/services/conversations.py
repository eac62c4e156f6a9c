"""Conversations: replying to an answer sends the model the whole conversation so far and
records its next answer as a turn linked to the one it continues (issue 16)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from desk.core.clarification_scores import ClarificationScore, TaskTurns, clarification_scores
from desk.core.conversation import Conversation, TurnLink, conversation_ends, latest_turns, user_turns
from desk.core.rating import RatingFilter
from desk.core.response import ResponseResult, Status
from desk.core.trial import GenerationSettings, ModelRef, prompt_size_problem
from desk.engine.errors import EngineError
from desk.engine.ports.conversations import RatedAnswers, Turns
from desk.engine.ports.targets import Targets
from desk.engine.ports.trials import Responses, TrialHistory
from desk.engine.recorder import FanoutSink, RedactingSink, StoreRecorder
from desk.engine.runner import ResponseSink, Runner
from desk.store.errors import StoreError


class TurnLinker:
    """A sink that links each new answer to the one it continues as soon as its row exists
    (after the recorder's), so even an answer cut off mid-stream is a turn of its
    conversation. A refused link is the answer's store error, as a refused row is."""

    def __init__(self, turns: Turns, parent: ResponseResult, turn: int, reply: str) -> None:
        self._turns = turns
        self._parent, self._turn, self._reply = parent.id, turn, reply

    def response_started(self, result: ResponseResult) -> None:
        try:
            self._turns.add(TurnLink(result.id, self._parent, self._turn, self._reply))
        except StoreError as exc:
            result.store_error = result.store_error or f"the answer could not be linked to its conversation ({exc})"

    def text_received(self, result: ResponseResult, delta: str, parts: list[str]) -> None:
        pass

    def tool_calls_received(self, result: ResponseResult, calls: object) -> None:
        pass

    def attempt_finished(self, result: ResponseResult, attempt: object) -> None:
        pass

    def response_finished(self, result: ResponseResult) -> None:
        pass


class ConversationService:
    """Reads conversations back and continues them, one model or every pane at once."""

    def __init__(self, trials: TrialHistory, responses: Responses, turns: Turns,
                 targets: Targets, runner: Runner, ratings: RatedAnswers) -> None:
        self._ratings = ratings
        self._trials = trials
        self._answers = responses
        self.turns: Turns = turns  # a view numbers its answers' turns with for_trial
        self._targets = targets
        self._runner = runner

    def conversation(self, response_id: str) -> Conversation | None:
        """The conversation up to and including this answer; None when there is no such answer."""
        last = self._answers.get(response_id)
        if last is None:
            return None
        chain = self.turns.chain(response_id)
        first_id = chain[0].parent_response_id if chain else response_id
        stored = self._trials.get(last.trial_id)
        answers = [self._answers.get(first_id), *(self._answers.get(link.response_id) for link in chain)]
        if stored is None or any(a is None for a in answers):
            return None
        return Conversation(last.trial_id, stored.input, tuple(a for a in answers if a is not None),
                            tuple(link.reply for link in chain))

    def latest(self, trial_id: str) -> list[ResponseResult]:
        """The last answer of each conversation of a trial: what *Reply to all* continues."""
        return latest_turns(self._answers.for_trial(trial_id), self.turns.for_trial(trial_id))

    def clarification_scores(self, filters: RatingFilter | None = None) -> list[ClarificationScore]:
        """What came of asking, per model (desk.core.clarification_scores), over every
        conversation of the trials whose answers `filters` selects among the rated ones; an
        answer rated by several raters counts by its latest rating."""
        values: dict[str, dict[str, object]] = {}
        trial_ids: dict[str, None] = {}
        for response, rating in sorted(self._ratings.rated_responses(filters), key=lambda p: p[1].created_at):
            values[response.id] = dict(rating.values)
            trial_ids[response.trial_id] = None
        tasks = []
        for trial_id in trial_ids:
            answers = self._answers.for_trial(trial_id)
            for first, last, turns in conversation_ends(answers, self.turns.for_trial(trial_id)):
                tasks.append(TaskTurns(last.model, first.text, values.get(first.id), values.get(last.id), turns))
        return clarification_scores(tasks)

    def user_turns(self, trial_id: str) -> dict[tuple[str, str | None], list[str]]:
        """A trial's replies, per conversation (by model and variant label), oldest first."""
        return user_turns(self._answers.for_trial(trial_id), self.turns.for_trial(trial_id))

    async def replay(self, turns: dict[tuple[str, str | None], list[str]], answers: Sequence[ResponseResult], *,
                     sink: ResponseSink | None = None) -> list[ResponseResult]:
        """*Run again*'s later turns: each of `answers` (a new trial's first answers) is
        continued with the replies its model and variant got before (`user_turns` of the old
        trial), in order, all conversations at once; a conversation stops at an answer that
        failed. Every answer made, in the order they ended."""
        made: list[ResponseResult] = []

        async def go_on(answer: ResponseResult, replies: list[str]) -> None:
            for reply in replies:
                if _why_not(answer) is not None:
                    return
                answer = await self.reply(answer.id, reply, sink=sink)
                made.append(answer)

        await asyncio.gather(*(go_on(a, turns[key]) for a in answers
                               if (key := (a.model, a.variant.label if a.variant else None)) in turns))
        return made

    async def reply(self, response_id: str, reply: str, *, sink: ResponseSink | None = None) -> ResponseResult:
        """Send `reply` to the model of this answer, with the whole conversation so far;
        its answer, streamed and recorded like any, is the next turn. EngineError when the
        reply is empty or too large, or the answer cannot be continued."""
        return (await self.reply_many([response_id], reply, sink=sink))[0]

    async def reply_all(self, trial_id: str, reply: str, *, sink: ResponseSink | None = None) -> list[ResponseResult]:
        """The same reply to every conversation of a trial that has an answer to continue
        (one that failed has none), each continuing its own, all at once."""
        latest = [r for r in self.latest(trial_id) if _why_not(r) is None]
        if not latest:
            raise EngineError(f"trial {trial_id} has no answer to reply to")
        return await self.reply_many([r.id for r in latest], reply, sink=sink)

    async def reply_many(self, response_ids: Sequence[str], reply: str, *,
                         sink: ResponseSink | None = None) -> list[ResponseResult]:
        """`reply` to each of these answers at once; results in the same order."""
        problem = prompt_size_problem(reply, "reply")
        if problem:
            raise EngineError(problem)
        if not reply.strip():
            raise EngineError("the reply is empty")
        conversations = []
        for response_id in response_ids:
            found = self.conversation(response_id)
            if found is None:
                raise EngineError(f"no answer {response_id}")
            why = _why_not(found.last)
            if why:
                raise EngineError(why)
            conversations.append(found)
        await self._targets.prepare([ModelRef.parse(c.last.model).provider for c in conversations])
        return list(await asyncio.gather(*(self._continue(c, reply, sink) for c in conversations)))

    async def _continue(self, conversation: Conversation, reply: str, sink: ResponseSink | None) -> ResponseResult:
        last = conversation.last
        settings = GenerationSettings(**{k: last.settings.get(k) for k in ("temperature", "max_tokens", "reasoning_effort")})
        target = self._targets.target(ModelRef.parse(last.model), settings, last.variant)
        recorder = StoreRecorder(self._answers, clean=self._runner.scrub)
        linker = TurnLinker(self.turns, last, len(conversation.answers) + 1, reply)
        known_keys = self._runner.known_keys
        view = RedactingSink(sink, lambda: known_keys().values()) if sink is not None else None
        fan = FanoutSink(recorder, linker, *([view] if view is not None else []))
        (result,) = await self._runner.run_trial(conversation.trial_id, conversation.continued(reply), [target], fan)
        return result


def _why_not(answer: ResponseResult) -> str | None:
    """Why this answer cannot be replied to, or None when it can."""
    if answer.status == Status.STREAMING:
        return f"answer {answer.id} is still streaming; reply once it is done"
    if answer.failed:
        return f"answer {answer.id} ({answer.model}) failed: there is nothing to reply to; run the trial again"
    return None
