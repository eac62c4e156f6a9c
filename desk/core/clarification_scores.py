"""What came of asking (issue 16): per model, over tasks that may run to several turns,
whether a model that asked a clarifying question then succeeded, how often it asked for
nothing, and whether a model that guessed instead got there.

A task is one conversation: its first answer and, when the user (or a suite's scripted
clarification) replied, the answers after it. The first answer *asked* when its rating
says so (uncertainty "asked_clarifying", or "needless_question" for a question that was
not needed); unrated, desk's heuristic decides (desk.core.conversation.asks_question).
Success is the rated outcome of the task's last answer ("success"; "partial" and
"failure" are not).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from desk.core.conversation import asks_question
from desk.core.statistics import wilson_interval

ASKED_NEEDED, ASKED_NEEDLESSLY = "asked_clarifying", "needless_question"


@dataclass(frozen=True)
class TaskTurns:
    """One model's task: its first answer's text and rating values, its last answer's
    rating values (the same answer when there was one turn), and how many turns it took.
    Rating values are None when the answer is unrated."""

    model: str
    first_text: str
    first: Mapping[str, Any] | None
    last: Mapping[str, Any] | None
    turns: int = 1


@dataclass(frozen=True)
class Share:
    """k of n, with its 95% Wilson interval (None when n is 0)."""

    k: int
    n: int

    @property
    def rate(self) -> float | None:
        return self.k / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.k, self.n)

    def as_json(self) -> dict[str, Any]:
        interval = self.interval
        return {"k": self.k, "n": self.n, "rate": self.rate, "interval": list(interval) if interval else None}

    def __str__(self) -> str:
        """"2/3 67% [21–94%]", or "0/0 -" when there was nothing to count."""
        rate, interval = self.rate, self.interval
        if rate is None or interval is None:
            return f"{self.k}/{self.n} -"
        return f"{self.k}/{self.n} {rate:.0%} [{interval[0] * 100:.0f}–{interval[1] * 100:.0f}%]"


@dataclass(frozen=True)
class ClarificationScore:
    """Per model. `asked_then_succeeded`: of the tasks whose first answer asked a needed
    question and that went on to a later turn, those whose last answer succeeded.
    `asked_needlessly`: of the tasks whose first answer asked, those whose question was not
    needed. `guessed_succeeded` and `guessed_failed`: of the tasks whose first answer did
    not ask and whose last answer is rated, those that succeeded and those that did not.
    `extra_turns`: tasks that took more than one turn."""

    model: str
    asked_then_succeeded: Share
    asked_needlessly: Share
    guessed_succeeded: Share
    guessed_failed: Share
    extra_turns: int

    def as_json(self) -> dict[str, Any]:
        return {"model": self.model, "asked_then_succeeded": self.asked_then_succeeded.as_json(),
                "asked_needlessly": self.asked_needlessly.as_json(),
                "guessed_succeeded": self.guessed_succeeded.as_json(),
                "guessed_failed": self.guessed_failed.as_json(), "extra_turns": self.extra_turns}


# What rating a turn that follows a clarifying question means (shown where it is rated).
AFTER_QUESTION = ("After a clarifying question: Outcome is whether the answer after it succeeded; "
                  "whether the question was needed is the turn before's Uncertainty.")


def asked_question(text: str, values: Mapping[str, Any] | None) -> bool:
    """Whether an answer asked the user a question: its rating says so, else the heuristic."""
    if values is not None and values.get("uncertainty"):
        return values["uncertainty"] in (ASKED_NEEDED, ASKED_NEEDLESSLY)
    return asks_question(text)


def asked(task: TaskTurns) -> bool:
    """Whether the task's first answer asked: its rating says so, else the heuristic."""
    return asked_question(task.first_text, task.first)


def clarification_scores(tasks: Iterable[TaskTurns]) -> list[ClarificationScore]:
    """The figures per model, models in the order first seen."""
    counts: dict[str, dict[str, int]] = {}
    for task in tasks:
        c = counts.setdefault(task.model, dict.fromkeys(
            ("asked_followed", "asked_ok", "asked", "needless", "guessed", "guessed_ok", "extra"), 0))
        c["extra"] += task.turns > 1
        outcome = task.last.get("outcome") if task.last is not None else None
        if asked(task):
            c["asked"] += 1
            if task.first is not None and task.first.get("uncertainty") == ASKED_NEEDLESSLY:
                c["needless"] += 1
            elif task.turns > 1 and outcome:
                c["asked_followed"] += 1
                c["asked_ok"] += outcome == "success"
        elif outcome:
            c["guessed"] += 1
            c["guessed_ok"] += outcome == "success"
    return [
        ClarificationScore(
            model,
            Share(c["asked_ok"], c["asked_followed"]),
            Share(c["needless"], c["asked"]),
            Share(c["guessed_ok"], c["guessed"]),
            Share(c["guessed"] - c["guessed_ok"], c["guessed"]),
            c["extra"],
        )
        for model, c in counts.items()
    ]
