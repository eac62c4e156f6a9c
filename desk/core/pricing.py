"""Prices per million tokens and the cost of a usage; an unknown price is None, never $0."""

from __future__ import annotations

from dataclasses import dataclass

from desk.core.response import Usage


@dataclass(frozen=True)
class Price:
    """USD per million tokens. Cached input falls back to the input price when not given."""

    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None

    def __post_init__(self) -> None:
        for value in (self.input_per_mtok, self.output_per_mtok, self.cached_input_per_mtok):
            if value is not None and value < 0:
                raise ValueError("prices cannot be negative")


@dataclass(frozen=True)
class Cost:
    """The cost of one usage: `usd` is None when it cannot be known, and `note` says why."""

    usd: float | None
    source: str | None  # "user" (an override in the store), "catalog" (genai-prices) or None
    note: str = ""


NO_PRICE = Cost(None, None, "no price")
NO_USAGE = Cost(None, None, "no usage reported")


def cost_of(usage: Usage, price: Price, source: str = "user") -> Cost:
    """Price a usage. `input_tokens` counts all input, cached included (OpenAI's convention)."""
    if usage.input_tokens is None or usage.output_tokens is None:
        return NO_USAGE
    cached = min(usage.cached_input_tokens or 0, usage.input_tokens)
    cached_rate = (
        price.cached_input_per_mtok
        if price.cached_input_per_mtok is not None
        else price.input_per_mtok
    )
    usd = (
        (usage.input_tokens - cached) * price.input_per_mtok
        + cached * cached_rate
        + usage.output_tokens * price.output_per_mtok
    ) / 1_000_000
    return Cost(round(usd, 10), source)


def add_costs(costs: list[float | None]) -> float | None:
    """Sum costs; None if none is known (a known part still counts when others are free of usage)."""
    known = [c for c in costs if c is not None]
    return round(sum(known), 10) if known else None
