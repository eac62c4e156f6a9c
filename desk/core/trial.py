"""What is sent: a trial is one prompt (with optional system prompt and files) to several models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from desk.core.attachment import Attachment
from desk.core.tools import ToolCall, ToolRound, ToolSet

# The one limit on a prompt (and on a system prompt), for every surface: the window, `desk
# trial`, suite import and load runs. Beyond it, text belongs in an attached file.
MAX_PROMPT_CHARS = 5_000_000
# A prompt file is read at most this far: MAX_PROMPT_CHARS characters at 4 bytes each
# (UTF-32, the widest encoding decode_text accepts) plus a BOM.
MAX_PROMPT_FILE_BYTES = 4 * MAX_PROMPT_CHARS + 4


def prompt_size_problem(text: str | None, what: str = "prompt") -> str | None:
    """Why `text` cannot be sent as a prompt (or system prompt, `what`), or None if it can."""
    if text is not None and len(text) > MAX_PROMPT_CHARS:
        return (f"the {what} is {len(text):,} characters, more than the {MAX_PROMPT_CHARS:,} allowed; "
                "shorten it or attach the text as a file")
    return None


def trial_size_problem(trial: TrialInput, variants: Sequence[Variant] = ()) -> str | None:
    """Why the prompt or a system prompt of `trial` (or of its variants) is too large to send, or None."""
    for problem in (prompt_size_problem(trial.prompt), prompt_size_problem(trial.system, "system prompt"),
                    *(prompt_size_problem(v.system, f"system prompt {v.label}") for v in variants)):
        if problem:
            return problem
    return None


class ModelRefError(ValueError):
    """A model reference that is not of the form NAME/MODEL."""


@dataclass(frozen=True)
class ModelRef:
    """A model on a configured provider, written `provider/model` (the model part may contain '/')."""

    provider: str
    model: str

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        provider, sep, model = text.strip().partition("/")
        if not sep or not provider or not model:
            raise ModelRefError(f"model {text!r} must be written PROVIDER/MODEL, e.g. openai/gpt-4o")
        return cls(provider, model)

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


REASONING_EFFORTS = ("minimal", "low", "medium", "high")


@dataclass(frozen=True)
class GenerationSettings:
    """Sampling settings sent with a request; None means "the vendor's default" and is not sent."""

    temperature: float | None = None
    max_tokens: int | None = None
    reasoning_effort: str | None = None
    # A JSON schema the answer must follow, sent with each protocol's structured-output
    # mechanism (a judge's verdict); None: free text. Not hashed: a dict cannot be.
    response_schema: Mapping[str, Any] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if self.temperature is not None and not 0.0 <= self.temperature <= 2.0:
            raise ValueError("temperature must be between 0 and 2")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise ValueError("max tokens must be at least 1")
        if self.reasoning_effort is not None and self.reasoning_effort not in REASONING_EFFORTS:
            raise ValueError(f"reasoning effort must be one of {', '.join(REASONING_EFFORTS)}")

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "reasoning_effort": self.reasoning_effort,
        }
        if self.response_schema is not None:  # only when asked: older records stay as they were
            out["response_schema"] = dict(self.response_schema)
        return out


@dataclass(frozen=True)
class Variant:
    """A named system prompt to compare against others on the same task ("how much
    scaffolding does this model need"); None as system means no system prompt at all."""

    label: str
    system: str | None


@dataclass(frozen=True)
class PriorTurn:
    """One earlier exchange of a conversation: the model's answer, then the user's reply to
    it. `reasoning` and `signature` are the answer's visible thinking and the vendor's seal
    over it (Anthropic's thinking signature, Gemini's thoughtSignature), passed back where
    the vendor wants them; empty or None when there was none. `redacted` is the thinking
    the vendor sent encrypted (Anthropic's redacted_thinking data), passed back unchanged."""

    answer: str
    reply: str
    reasoning: str = ""
    signature: str | None = None
    redacted: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrialInput:
    """The material of a trial, exactly as the user gave it. `turns` continue a
    conversation: after the first user message (the prompt with its files and images, which
    stay there), each earlier answer and the reply to it, in order; the last reply is
    what the model answers now."""

    prompt: str
    system: str | None = None
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)
    tools: ToolSet | None = None  # tools offered to the model, and the tool choice
    tool_rounds: tuple[ToolRound, ...] = ()  # the model's earlier calls and their results, in order
    turns: tuple[PriorTurn, ...] = field(default_factory=tuple)

    @property
    def images(self) -> tuple[Attachment, ...]:
        return tuple(a for a in self.attachments if a.kind == "image")

    @property
    def data_files(self) -> tuple[Attachment, ...]:
        return tuple(a for a in self.attachments if a.kind == "data")


def with_results(trial: TrialInput, text: str, calls: Sequence[ToolCall], results: Sequence[str]) -> TrialInput:
    """*Give results*: `trial` continued by an answer (its text and tool calls) and a result
    for each call, as one more tool round (ToolsError when they do not match one for one).
    The calls are sent back as stored, so a key the model echoed in them goes as [REDACTED]
    (desk.core.key_echo): that is fine, the vendor produced those arguments, and the key is
    not ours to send again."""
    return replace(trial, tool_rounds=(*trial.tool_rounds, ToolRound(text, tuple(calls), tuple(results))))


def data_file_block(att: Attachment) -> str:
    """Label a data file with its name so the model can refer to it; the content stays verbatim."""
    return f'<file name="{att.name}">\n{att.text}\n</file>'


def user_text_parts(trial: TrialInput) -> list[str]:
    """Text parts of the user turn in order: each data file, then the prompt."""
    return [data_file_block(a) for a in trial.data_files] + [trial.prompt]


def headline(text: str, limit: int = 80) -> str:
    """A prompt's first non-empty line, cut at a word boundary ("…") to at most `limit`
    characters: what tells one past trial from another in a list."""
    line = next((" ".join(ln.split()) for ln in text.splitlines() if ln.strip()), "")
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:.-") + "…"


def history_title(prompt: str) -> str:
    """A past trial's title in every history list (the window's, `desk history`)."""
    return headline(prompt) or "(attachments only)"


def history_turns(turns: int) -> str:
    """A past trial's conversation length as every history list says it: "" for a single
    shot, " · 3 turns" once a reply continued it."""
    return f" · {turns} turns" if turns > 1 else ""


def history_models(models: Sequence[str], *, blind: bool = False, shown: int = 3) -> str:
    """A past trial's models as every history list names them: the first `shown` model
    names without their provider, "+N" for the rest; while rating blind, only how many."""
    if blind:
        n = len(dict.fromkeys(models))
        return f"{n} model{'s' if n != 1 else ''} (hidden: blind rating)"
    names = ", ".join(m.split("/", 1)[-1] for m in models[:shown])
    return names + (f" +{len(models) - shown}" if len(models) > shown else "")
