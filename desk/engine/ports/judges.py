"""What judging answers with a model needs from the store: the judge prompt versions and
the verdicts (desk.store.judges), and tagging a judge's own requests with their run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from desk.core.judge import JudgePrompt
from desk.store.judges import StoredVerdict


class JudgePrompts(Protocol):
    def default(self) -> JudgePrompt:
        """The newest version of the default judge prompt (the shipped one stored on first use)."""

    def get(self, prompt_id: str) -> JudgePrompt | None: ...

    def save_version(self, template: str, name: str = ...) -> JudgePrompt:
        """Store `template` as the next version (StoreError naming what makes it unusable)."""


class Verdicts(Protocol):
    def judged(self, judge: str, response_ids: Sequence[str]) -> set[str]:
        """Which answers `judge` has a verdict or an error for."""

    def save_verdict(self, response_id: str, judge: str, values: dict[str, Any], *, prompt_id: str,
                     rubric_id: str, rationale: str, judge_response_id: str | None,
                     run_id: str | None, images: str | None = ...) -> StoredVerdict: ...

    def save_error(self, response_id: str, judge: str, *, prompt_id: str, rubric_id: str, error: str,
                   raw: str | None, judge_response_id: str | None, run_id: str | None,
                   images: str | None = ...) -> StoredVerdict: ...

    def request_failures(self, judge: str, response_ids: Sequence[str]) -> set[str]:
        """Which answers hold only a judge error whose request failed (nothing was judged)."""

    def forget_error(self, response_id: str, judge: str) -> None:
        """Drop the judge's error row for the answer, to judge it again."""

    def list(self, judge: str | None = None, response_ids: Sequence[str] | None = None) -> list[StoredVerdict]: ...


class RunLinks(Protocol):
    def link_response(self, response_id: str, run_id: str, seq: int) -> None:
        """Tag a response with its run (so it stays out of the trial history)."""


class CalibrationDraws(Protocol):
    def drawn(self, run_id: str) -> list[tuple[str, int]]:
        """(response id, seed) of each answer drawn for the run's calibration sample, in order."""

    def record(self, run_id: str, response_id: str, seed: int) -> None: ...

