"""Conversations: a trial's answer continued by the user's replies, one turn at a time.

Turn 1 is the trial's own answer to its prompt; each reply makes the next turn, an answer
of the same model (and system-prompt variant) to the whole conversation so far. A turn is
stored as a response linked to the one it continues (`TurnLink`), so any conversation can
be rebuilt from the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from desk.core.response import ResponseResult
from desk.core.trial import PriorTurn, TrialInput


@dataclass(frozen=True)
class TurnLink:
    """Response `response_id` answers `reply`, sent after `parent_response_id`'s answer; it
    is turn `turn` (2 or more) of its conversation."""

    response_id: str
    parent_response_id: str
    turn: int
    reply: str


def prior_turns(answers: Sequence[ResponseResult], replies: Sequence[str]) -> tuple[PriorTurn, ...]:
    """The exchanges to send: each answer of the conversation so far with the reply that
    followed it (`answers` and `replies` of equal length, oldest first)."""
    if len(answers) != len(replies):
        raise ValueError("each answer needs the reply that followed it")
    return tuple(PriorTurn(a.text, reply, a.reasoning_text, a.reasoning_signature)
                 for a, reply in zip(answers, replies, strict=True))


def turn_numbers(responses: Iterable[ResponseResult], links: Iterable[TurnLink]) -> dict[str, int]:
    """Each response's turn: its link's, or 1 for a trial's own answer."""
    linked = {link.response_id: link.turn for link in links}
    return {r.id: linked.get(r.id, 1) for r in responses}


def latest_turns(responses: Sequence[ResponseResult], links: Iterable[TurnLink]) -> list[ResponseResult]:
    """The last answer of each of a trial's conversations, in the order the conversations
    began: where *Reply to all* continues every one of them. A conversation that branched
    (two replies to one answer) ends in its most recent branch."""
    parent = {link.response_id: link.parent_response_id for link in links}
    root_of: dict[str, str] = {}
    for r in responses:
        root = r.id
        while root in parent:
            root = parent[root]
        root_of[r.id] = root
    latest: dict[str, ResponseResult] = {}
    for r in responses:  # in the order stored: a later turn replaces an earlier one
        latest[root_of[r.id]] = r
    return list(latest.values())


@dataclass(frozen=True)
class Conversation:
    """One model's conversation up to an answer: the trial's material (`first`, as its
    prompt was sent), every answer oldest first, and the reply after each but the last."""

    trial_id: str
    first: TrialInput
    answers: tuple[ResponseResult, ...]
    replies: tuple[str, ...]

    @property
    def last(self) -> ResponseResult:
        return self.answers[-1]

    def continued(self, reply: str) -> TrialInput:
        """What the model is sent to answer `reply`: the whole conversation, then it."""
        return replace(self.first, turns=prior_turns(self.answers, (*self.replies, reply)))
