"""Which reading of an automatic constraint check a figure counts.

Every automatic check (rater "auto") stores two verdicts on the answer: IFBench's own, the
*official* one, as the rating's ``constraints``, and desk's reading of the instructions
(desk.core.constraints_desk, IFBench's verdict where desk has no reading of its own) beside
it under `DESK_KEY`; both are "followed" or "violated". The scorecard counts the official
verdict unless the user chooses desk's reading. A check stored before desk kept its reading
has only the official verdict; under desk's reading it still counts the official one, and
the figure says how many did.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from desk.core.rating import Rating, RatingFigures

if TYPE_CHECKING:  # the checkers load only when a check runs
    from desk.core.constraints import ConstraintVerdict

READINGS = ("official", "desk")
DEFAULT_READING = "official"
DESK_KEY = "constraints_desk"  # the automatic rating's value holding desk's reading
LABELS = {"official": "IFBench's verdict", "desk": "desk's reading"}


def check_reading(reading: str) -> str:
    """The reading, or ValueError naming the ones there are."""
    if reading not in READINGS:
        raise ValueError(f"constraint reading must be one of {', '.join(READINGS)}, got {reading!r}")
    return reading


def _word(followed: bool) -> str:
    return "followed" if followed else "violated"


def auto_values(verdict: ConstraintVerdict) -> dict[str, Any]:
    """The values an automatic check stores: both verdicts and the one-line summary."""
    return {"constraints": _word(verdict.followed), DESK_KEY: _word(verdict.followed_by("desk")),
            "note": verdict.summary()}


def read_as(rating: Rating, reading: str) -> tuple[Rating, bool]:
    """The rating with `constraints` as `reading` has it, and whether that reading was stored
    (False only for desk's reading of a check made before desk kept it)."""
    constraints, stored = constraints_as(rating.values.get("constraints"), rating.values.get(DESK_KEY), reading)
    if constraints == rating.values.get("constraints"):
        return rating, stored
    return dataclasses.replace(rating, values={**rating.values, "constraints": constraints}), stored


def rating_figures(rating: Rating) -> RatingFigures:
    """A Rating as the scorecard's light row."""
    return RatingFigures(rating.response_id, rating.rater, rating.created_at, rating.outcome, rating.uncertainty,
                         rating.constraints, rating.quality, rating.values.get(DESK_KEY))


def figures_read_as(rating: RatingFigures, reading: str) -> tuple[RatingFigures, bool]:
    """`read_as` for the scorecard's light rows."""
    constraints, stored = constraints_as(rating.constraints, rating.desk_reading, reading)
    if constraints == rating.constraints:
        return rating, stored
    return RatingFigures(rating.response_id, rating.rater, rating.created_at, rating.outcome, rating.uncertainty,
                         constraints, rating.quality, rating.desk_reading), stored


def constraints_as(official: str | None, desk: str | None, reading: str) -> tuple[str | None, bool]:
    """An automatic check's verdict under `reading`, from its official one and desk's, and
    whether that reading was stored."""
    if check_reading(reading) == "official" or official in (None, ""):
        return official, True
    if desk not in ("followed", "violated"):
        return official, False
    return desk, True
