"""What load runs need from storage: the runs table, read and written, and a connection of
their own for the thread that stores requests while the event loop measures."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any, Protocol

from desk.core.load import RequestOutcome
from desk.core.response import ResponseResult
from desk.store.runs import RunInfo


class RunReader(Protocol):
    def get(self, run_id: str) -> RunInfo | None:
        """A stored run of any kind, or None."""

    def list(self, kind: str | None = None, limit: int = 200) -> builtins.list[RunInfo]:
        """Stored runs, newest first (`kind` None: every kind)."""

    def requests(self, run_id: str) -> builtins.list[RequestOutcome]:
        """A load run's requests in start order, with the marks of their HTTP attempts."""

    def responses(self, run_id: str) -> builtins.list[ResponseResult]:
        """Every model call a run made, with its attempts (wall-clock instants)."""


class RunWriter(Protocol):
    def create(self, kind: str, spec: dict[str, Any], name: str | None = None) -> str:
        """A new run, status 'running'; its id."""

    def finish(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        """The run's final status and summary figures."""

    def save_batch(self, run_id: str, outcomes: Sequence[RequestOutcome],
                   calls: Sequence[tuple[int, ResponseResult]]) -> None:
        """Finished requests and the responses they made, in one transaction."""


class Runs(RunReader, RunWriter, Protocol):
    """The runs table as a load run uses it on its own thread's connection."""


class RunConnection(Protocol):
    """A store connection of its own (SQLite keeps one per thread), closed when done."""

    @property
    def runs(self) -> RunWriter: ...

    def close(self) -> None: ...
