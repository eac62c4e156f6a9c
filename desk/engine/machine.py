"""What this machine is doing while a run sends: read at a run's start and end, stored with
the run (desk.core.run_conditions says why)."""

from __future__ import annotations

import os

from desk.core.host import HOST
from desk.core.run_conditions import RunConditions


def load_average() -> float | None:
    """The 1-minute load average; None where the system keeps none (Windows)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def conditions_since(load_start: float | None) -> RunConditions:
    """One sending that began at `load_start` and ends now."""
    return RunConditions(HOST, os.cpu_count() or 1, load_start, load_average())
