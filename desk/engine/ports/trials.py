"""What the trial service needs from storage: trials (what was sent) and responses (each
model's answer, written as it streams). Readers and writers are apart, so a surface that
only shows the history, or a sink that only records, asks for no more than it uses."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Protocol

from desk.core.response import Attempt, ResponseResult
from desk.core.trial import TrialInput
from desk.store.trials import StoredTrial, TrialSummary


class TrialHistory(Protocol):
    def get(self, trial_id: str) -> StoredTrial | None:
        """The trial as sent, or None when there is no such trial."""

    def get_many(self, trial_ids: Sequence[str]) -> dict[str, StoredTrial]:
        """`get` of many at once, by id; missing ones left out."""

    def list(self, search: str | None = None, limit: int = 100, offset: int = 0,
             *, runs: bool = True) -> builtins.list[TrialSummary]:
        """Trials newest first, a page at a time, those matching `search` when given; `runs`
        False leaves out those of load and suite runs."""


class TrialWriter(Protocol):
    def create(self, trial: TrialInput, *, trial_id: str | None = None,
               parent_trial_id: str | None = None) -> str:
        """Store a trial with its attachments; its id. StoreError when refused."""


class Trials(TrialHistory, TrialWriter, Protocol):
    """Reading and writing trials."""


class ResponseReader(Protocol):
    def get(self, response_id: str) -> ResponseResult | None:
        """One stored answer with its attempts, or None when there is no such response."""

    def for_trial(self, trial_id: str) -> list[ResponseResult]:
        """A trial's answers with their attempts, in the order they were made."""


class ResponseWriter(Protocol):
    """Where answers are written while they stream (desk.engine.recorder.StoreRecorder)."""

    def create(self, result: ResponseResult) -> None:
        """Insert a response (normally still streaming) with any attempts it already has."""

    def update_text(self, response_id: str, text: str, reasoning_text: str = "") -> None:
        """Save the text streamed so far."""

    def save_attempt(self, response_id: str, attempt: Attempt) -> None:
        """Insert or update one attempt of a response."""

    def finish(self, result: ResponseResult) -> None:
        """Write every field of a response and its attempts (inserting it if it is new)."""


class Responses(ResponseReader, ResponseWriter, Protocol):
    """Reading and writing responses."""
