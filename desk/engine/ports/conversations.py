"""What the conversation service needs from storage beyond trials and responses: the links
between the turns of a conversation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from desk.core.conversation import TurnLink
from desk.core.rating import Rating, RatingFilter
from desk.core.response import ResponseResult


class RatedAnswers(Protocol):
    def rated_responses(self, filters: RatingFilter | None = None) -> list[tuple[ResponseResult, Rating]]:
        """(answer, current rating) pairs matching `filters`; an answer once per rater."""


class Turns(Protocol):
    def add(self, link: TurnLink) -> None:
        """Link a stored response to the one it continues. StoreError when refused."""

    def get(self, response_id: str) -> TurnLink | None:
        """A response's link to the answer it continues; None for a trial's own answer."""

    def chain(self, response_id: str) -> list[TurnLink]:
        """The links from turn 2 up to `response_id`'s own, oldest first (empty for turn 1)."""

    def for_responses(self, response_ids: Sequence[str]) -> dict[str, TurnLink]:
        """The links of those of these responses that continue a conversation, by id."""

    def for_trial(self, trial_id: str) -> list[TurnLink]:
        """Every link among a trial's responses, in the order they were made."""
