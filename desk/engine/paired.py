"""The paired comparison of two models on a suite run's cases (desk scorecard --compare):
its result. The rules that make it are desk.engine.scorecard.paired_comparison."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PairedComparison:
    """Model A against model B on the same cases and samples (the rules: see desk.engine.scorecard)."""

    model_a: str
    model_b: str
    pairs: int
    wins: int  # A better
    losses: int  # B better
    ties: int
    p_value: float
    warnings: tuple[str, ...] = ()
    # Of the pairs, the cases whose answer by A (by B) took an extra turn (a clarification):
    # each compared by its last turn.
    extra_turn_a: int = 0
    extra_turn_b: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"model_a": self.model_a, "model_b": self.model_b, "pairs": self.pairs, "wins": self.wins,
                "losses": self.losses, "ties": self.ties, "p_value": self.p_value,
                "warnings": list(self.warnings), "extra_turn_a": self.extra_turn_a,
                "extra_turn_b": self.extra_turn_b}

    @property
    def extra_turn_text(self) -> str:
        """"; extra turn: A 2, B 0 (compared by the last turn)", or "" when no case needed one."""
        if not (self.extra_turn_a or self.extra_turn_b):
            return ""
        return (f"; extra turn: {self.model_a} {self.extra_turn_a}, {self.model_b} {self.extra_turn_b} "
                "(compared by the last turn)")
