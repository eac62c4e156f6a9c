"""A rater's judgement of one answer, and a preference between two answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# The criteria every rubric version keeps (their labels may change, their keys never):
# the scorecard's success, clarifying, fabrication and violation rates are built on them.
CORE_CRITERIA = ("outcome", "uncertainty", "constraints", "quality")


@dataclass(frozen=True)
class Rating:
    """One rater's judgement of one response under one rubric version.

    `values` maps each rubric criterion key to its value (a choice key, an int for a
    scale, text, or a list of tags). Editing a rating stores a new Rating whose
    `supersedes` names the old one, so history is kept; the current rating is the one
    nothing supersedes. `blind` records that identities were hidden while rating, and
    `shown_order` the response ids in the order the rater saw them. `origin` is None for
    a rating made in this store, else the id of the store a merge brought it from.
    """

    id: str
    response_id: str
    rater: str
    rubric_id: str
    created_at: float
    values: Mapping[str, Any]
    blind: bool = False
    shown_order: tuple[str, ...] = ()
    supersedes: str | None = None
    origin: str | None = None

    @property
    def outcome(self) -> str | None:
        return self.values.get("outcome")

    @property
    def uncertainty(self) -> str | None:
        return self.values.get("uncertainty")

    @property
    def constraints(self) -> str | None:
        return self.values.get("constraints")

    @property
    def quality(self) -> int | None:
        return self.values.get("quality")

    @property
    def note(self) -> str:
        return str(self.values.get("note") or "")

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self.values.get("tags") or ())


class RatingFigures(NamedTuple):
    """What the scorecard needs of a current rating, with Rating's names: a light row to
    hold 100,000 of. `desk_reading` is desk's own reading of an automatic constraint check
    (desk.core.constraint_reading.DESK_KEY), None for any other rating."""

    response_id: str
    rater: str
    created_at: float
    outcome: str | None = None
    uncertainty: str | None = None
    constraints: str | None = None
    quality: int | float | None = None
    desk_reading: str | None = None


class RatingCell(NamedTuple):
    """A current rating as a run's matrix shows it, with Rating's names: who, when, the
    rubric's three choices, the quality score and the note (no tags nor other criteria):
    a light row to hold 100,000 of."""

    response_id: str
    rater: str
    created_at: float
    outcome: str | None
    uncertainty: str | None
    constraints: str | None
    quality: int | float | None
    note: str


@dataclass(frozen=True)
class Preference:
    """A pairwise judgement between two answers to the same trial (a is the left pane)."""

    id: str
    response_a: str
    response_b: str
    winner: str  # a | b | tie | both_bad
    rater: str
    created_at: float
    reason: str = ""
    blind: bool = False
    shown_order: tuple[str, ...] = field(default_factory=tuple)
    origin: str | None = None  # as Rating.origin


class PreferenceFigures(NamedTuple):
    """A current preference as the scorecard counts it (Preference's names)."""

    response_a: str
    response_b: str
    winner: str


@dataclass(frozen=True)
class RatingFilter:
    """Which current ratings a query returns (the scorecard's, an export's); the defaults
    select all of them.

    `tags`: the rating has every one of these tags. `rater`: made by this rater.
    `since`/`until`: `since <= created_at < until` (unix seconds, when the rating was
    saved). `trial_ids`: the rated response belongs to one of these trials.
    """

    tags: tuple[str, ...] = ()
    rater: str | None = None
    since: float | None = None
    until: float | None = None
    trial_ids: tuple[str, ...] = ()


def _judged(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as stored: empty ones left out, tags as a list."""
    return {k: list(v) if isinstance(v, list | tuple) else v
            for k, v in values.items() if v not in (None, "", [], ())}


def same_judgement(values: Mapping[str, Any], rating: Rating | None) -> bool:
    """Whether `values` say what `rating` already says (saving them would change nothing)."""
    return rating is not None and _judged(values) == _judged(rating.values)


def enter_in_queue(values: Mapping[str, Any], saved: Rating | None, case_rated: bool) -> str:
    """What Enter does on one answer of a suite's rating queue.

    "save": a first rating. "confirm": the answer is rated already and the values differ,
    so the rater is asked before their rating is replaced. With the values unchanged
    nothing is saved: "next_case" once every answer of the case is rated (the rater is
    done here), else "next_answer".
    """
    if saved is None:
        return "save"
    if not same_judgement(values, saved):
        return "confirm"
    return "next_case" if case_rated else "next_answer"
