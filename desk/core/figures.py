"""How a latency or a cost reads on screen: one wording for every view that shows one."""

from __future__ import annotations

import math


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def fmt_cost(usd: float) -> str:
    """Dollars with enough digits to see a fraction of a cent: $0.0000042, $0.012, $1.23."""
    if usd == 0:
        return "$0"
    if usd >= 0.01:
        return f"${usd:,.2f}" if usd >= 1 else f"${usd:.4f}"
    digits = 1 - math.floor(math.log10(usd))
    return f"${usd:.{digits}f}"
