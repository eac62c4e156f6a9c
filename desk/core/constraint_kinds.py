"""The registry of constraint kinds (IFBench instruction ids), each with its checker and
required parameters, and what the checker modules (desk.core.ifbench_*) share.
desk.core.constraints runs them."""

from __future__ import annotations

import functools
import importlib
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from desk.core.constraint_params import Outcome

Checker = Callable[[str, Mapping[str, Any]], Outcome]

PUNCTUATION = string.punctuation
NO_PUNCTUATION = str.maketrans("", "", PUNCTUATION)  # for str.translate: drops punctuation


@dataclass(frozen=True)
class Kind:
    check: Checker
    required: tuple[str, ...]


class Kinds(dict[str, Kind]):
    """Instruction id -> its checker; `kind(id, *required)` decorates a checker to add it."""

    def kind(self, kind: str, *required: str) -> Callable[[Checker], Checker]:
        def register(fn: Checker) -> Checker:
            self[kind] = Kind(fn, required)
            return fn

        return register


@functools.cache
def optional(name: str) -> Any:
    """An optional package upstream uses, or None when it is not installed (looked up once)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
