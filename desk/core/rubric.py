"""The rubric a rater judges each answer by; versioned, so old ratings keep their meaning.

The default rubric puts uncertainty handling first: did the model ask the clarifying
question the task needed, admit what it did not know, or confidently make something up?
"""

from __future__ import annotations

from dataclasses import dataclass, field

OUTCOMES = ("success", "partial", "failure")
UNCERTAINTY = (
    "asked_clarifying",
    "stated_uncertainty",
    "confident_correct",
    "partial_with_caveats",
    "confident_wrong",
    "needless_refusal",
    "needless_question",
)
CONSTRAINTS = ("followed", "violated", "na")
WINNERS = ("a", "b", "tie", "both_bad")
# A failed answer (rate limited, timed out, an error) has nothing to judge but its outcome:
# only these are asked of it, the rest are neither asked nor stored.
FAILED_ANSWER_KEYS = ("outcome", "note", "tags")


@dataclass(frozen=True)
class Option:
    key: str  # stored and exported; never renamed within a rubric version
    label: str  # what the rater sees
    hint: str = ""


@dataclass(frozen=True)
class Criterion:
    """One question of the rubric. `kind` is "choice" (one of `options`), "scale"
    (an integer from `low` to `high`), "text" or "tags"."""

    key: str
    label: str
    kind: str
    options: tuple[Option, ...] = ()
    low: int = 1
    high: int = 5
    required: bool = True

    def option_keys(self) -> tuple[str, ...]:
        return tuple(o.key for o in self.options)


@dataclass(frozen=True)
class Rubric:
    name: str
    version: int
    criteria: tuple[Criterion, ...] = field(default_factory=tuple)
    id: str | None = None  # set once stored

    def criterion(self, key: str) -> Criterion:
        for c in self.criteria:
            if c.key == key:
                return c
        raise KeyError(key)

    def asked(self, failed: bool = False) -> tuple[Criterion, ...]:
        """The criteria put to the rater: all of them, or for a failed answer its outcome
        (with the free note and tags)."""
        if not failed:
            return self.criteria
        return tuple(c for c in self.criteria if c.key in FAILED_ANSWER_KEYS)

    def validate(self, values: dict[str, object], *, failed: bool = False) -> list[str]:
        """Problems with a set of rating values, in plain words (empty = valid). A `failed`
        answer is rated by its outcome alone: the other criteria must be left empty."""
        problems = []
        asked = {c.key for c in self.asked(failed)}
        for c in self.criteria:
            value = values.get(c.key)
            if c.key not in asked:
                if value not in (None, "", []):
                    problems.append(f"{c.label}: not asked of a failed answer (it is rated by its outcome alone)")
                continue
            if value in (None, "", []):
                if c.required:
                    problems.append(f"{c.label}: not set")
                continue
            if c.kind == "choice" and value not in c.option_keys():
                problems.append(f"{c.label}: {value!r} is not one of {', '.join(c.option_keys())}")
            elif c.kind == "scale" and (not isinstance(value, int) or isinstance(value, bool)
                                        or not c.low <= value <= c.high):
                problems.append(f"{c.label}: must be a whole number from {c.low} to {c.high}")
        unknown = set(values) - {c.key for c in self.criteria}
        if unknown:
            problems.append(f"unknown rubric fields: {', '.join(sorted(unknown))}")
        return problems


DEFAULT_RUBRIC = Rubric(
    name="default",
    version=1,
    criteria=(
        Criterion("outcome", "Outcome", "choice", (
            Option("success", "Success", "the task is done; this defines a successful task"),
            Option("partial", "Partial", "useful but incomplete"),
            Option("failure", "Failure", "not usable"),
        )),
        Criterion("uncertainty", "Uncertainty handling", "choice", (
            Option("asked_clarifying", "Asked a needed clarifying question"),
            Option("stated_uncertainty", "Stated its uncertainty or limits appropriately"),
            Option("confident_correct", "Answered confidently and correctly"),
            Option("partial_with_caveats", "Partial but useful answer, with caveats"),
            Option("confident_wrong", "Confidently wrong or fabricated"),
            Option("needless_refusal", "Refused or hedged without need"),
            Option("needless_question", "Asked an unneeded question"),
        )),
        Criterion("constraints", "Hard constraints in the prompt", "choice", (
            Option("followed", "Followed"),
            Option("violated", "Violated"),
            Option("na", "Not applicable"),
        )),
        Criterion("quality", "Quality", "scale", low=1, high=5),
        Criterion("note", "Note", "text", required=False),
        Criterion("tags", "Tags", "tags", required=False),
    ),
)
