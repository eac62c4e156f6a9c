"""Conversations: a trial's answer continued by the user's replies, one turn at a time.

Turn 1 is the trial's own answer to its prompt; each reply makes the next turn, an answer
of the same model (and system-prompt variant) to the whole conversation so far. A turn is
stored as a response linked to the one it continues (`TurnLink`), so any conversation can
be rebuilt from the store.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from desk.core.response import ResponseFigures, ResponseResult
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
    followed it (`answers` and `replies` of equal length, oldest first). The answers go as
    stored: a key the model echoed goes back as [REDACTED], which is fine (the vendor wrote
    that text; the key is not ours to send again); the redacted thinking goes back unchanged."""
    if len(answers) != len(replies):
        raise ValueError("each answer needs the reply that followed it")
    return tuple(PriorTurn(a.text, reply, a.reasoning_text, a.reasoning_signature, a.reasoning_redacted)
                 for a, reply in zip(answers, replies, strict=True))


def user_turns(responses: Sequence[ResponseResult], links: Iterable[TurnLink]) -> dict[tuple[str, str | None], list[str]]:
    """The replies of each conversation of a trial, oldest first, by (model, variant label):
    what *Run again* replays after the new trial's first answers. A conversation that
    branched replays its most recent branch."""
    links = list(links)
    by_response = {link.response_id: link for link in links}
    out: dict[tuple[str, str | None], list[str]] = {}
    for first, last, _ in conversation_ends(responses, links):
        replies: list[str] = []
        rid = last.id
        while (link := by_response.get(rid)) is not None:
            replies.append(link.reply)
            rid = link.parent_response_id
        if replies:
            out[(first.model, first.variant.label if first.variant else None)] = replies[::-1]
    return out


def turn_numbers(responses: Iterable[ResponseResult], links: Iterable[TurnLink]) -> dict[str, int]:
    """Each response's turn: its link's, or 1 for a trial's own answer."""
    linked = {link.response_id: link.turn for link in links}
    return {r.id: linked.get(r.id, 1) for r in responses}


def latest_turns(responses: Sequence[ResponseResult], links: Iterable[TurnLink]) -> list[ResponseResult]:
    """The last answer of each of a trial's conversations, in the order the conversations
    began: where *Reply to all* continues every one of them. A conversation that branched
    (two replies to one answer) ends in its most recent branch."""
    return [last for _, last, _ in conversation_ends(responses, links)]


def conversation_ends(responses: Sequence[ResponseResult],
                      links: Iterable[TurnLink]) -> list[tuple[ResponseResult, ResponseResult, int]]:
    """Each conversation of a trial as (its first answer, its last answer, the last one's
    turn), in the order the conversations began (see latest_turns)."""
    links = list(links)
    parent = {link.response_id: link.parent_response_id for link in links}
    turn = turn_numbers(responses, links)
    by_id = {r.id: r for r in responses}
    root_of: dict[str, str] = {}
    for r in responses:
        root = r.id
        while root in parent:
            root = parent[root]
        root_of[r.id] = root
    latest: dict[str, ResponseResult] = {}
    for r in responses:  # in the order stored: a later turn replaces an earlier one
        latest[root_of[r.id]] = r
    return [(by_id.get(root, last), last, turn[last.id]) for root, last in latest.items()]


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


def task_total(response_id: str, links: Mapping[str, TurnLink], total_ms: Mapping[str, float | None],
               cost_usd: Mapping[str, float | None]) -> tuple[float | None, float | None]:
    """(total time, cost) of the task that ends at `response_id`: summed over it and every
    earlier turn of its conversation (`links` by response id; `total_ms` and `cost_usd` by
    response id must hold every turn). A sum with an unknown part is None."""
    times: list[float | None] = []
    costs: list[float | None] = []
    rid: str | None = response_id
    while rid is not None:
        times.append(total_ms.get(rid))
        costs.append(cost_usd.get(rid))
        link = links.get(rid)
        rid = link.parent_response_id if link else None
    return (None if None in times else math.fsum(t or 0.0 for t in times),
            None if None in costs else math.fsum(c or 0.0 for c in costs))


def task_figures(answers: Sequence[ResponseFigures], links: Mapping[str, TurnLink]) -> list[ResponseFigures]:
    """The scorecard's answers with latency per task: the last turn of a conversation that
    took several carries the time of all its turns, and the turns it continued carry none
    (they still cost: the cost per successful task counts every turn). `answers` must hold
    every earlier turn of each conversation among them."""
    if not links:
        return list(answers)
    continued = {link.parent_response_id for link in links.values()}
    times = {a.id: a.total_ms for a in answers}
    out = []
    for a in answers:
        if a.id in continued:
            a = a._replace(total_ms=None)
        elif a.id in links:
            a = a._replace(total_ms=task_total(a.id, links, times, {})[0])
        out.append(a)
    return out


# A question is taken to be addressed to the user when it speaks to them or opens as a
# request for a choice or a fact only they have.
_TO_THE_USER = re.compile(
    r"\b(you|your|yours|please|clarify|confirm)\b|^(which|what|when|where|who|whom|how|should|shall|do|does|did"
    r"|is|are|can|could|would|will|may|might|have|has)\b", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?\n]*\?")
_CODE = re.compile(r"```.*?(```|\Z)|`[^`\n]*`", re.DOTALL)


def asks_question(text: str) -> bool:
    """desk's heuristic for "this answer asks the user a clarifying question" (README,
    Suites): outside code and quoted lines, a sentence ends with a question mark and is
    addressed to the user (it says you, your, please, clarify or confirm, or opens like
    "Which…", "Do…", "Could…"). A person's or a judge's rating always overrides it."""
    prose = "\n".join(line for line in _CODE.sub(" ", text).splitlines() if not line.lstrip().startswith(">"))
    # A lead-in ("Before I start: is it…?") does not hide how the question opens.
    return any(_TO_THE_USER.search(m.group().rsplit(":", 1)[-1].strip(" \t\"'*_-(")) for m in _SENTENCE.finditer(prose))


def needs_another_turn(answer: ResponseResult, turn: int, clarification: str, max_turns: int) -> bool:
    """Whether a suite run sends the case's clarification after this answer: the answer is
    ok, asks the user a question, the case has a clarification, and turns are left."""
    return bool(clarification) and turn < max_turns and not answer.failed and asks_question(answer.text)
