"""`desk trial`: one prompt to several models at once, with live progress."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from desk.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    _err,
    _json,
    _read_text,
    _ref,
    _run,
)
from desk.cli.policy import add_policy_args, timeouts_from
from desk.core.attachment import AttachmentError, load_attachment
from desk.core.records import pick, response_fields
from desk.core.response import Attempt, ResponseResult, Status, served_label
from desk.core.structured import SchemaError, read_schema, verdict_for
from desk.core.tools import ToolCall, ToolsError, ToolSet, calls_text, read_tools
from desk.core.trial import (
    REASONING_EFFORTS,
    GenerationSettings,
    TrialInput,
)

if TYPE_CHECKING:
    from desk.core.conversation import TurnLink
    from desk.engine.application import Application


def register(sub: Any, db: argparse.ArgumentParser) -> None:
    trial = sub.add_parser("trial", parents=[db], help="send one prompt to several models at once")
    trial.add_argument("--model", "-m", action="append", required=True, metavar="NAME/MODEL")
    src = trial.add_mutually_exclusive_group(required=True)
    src.add_argument("--prompt", "-p", metavar="TEXT")
    src.add_argument("--prompt-file", metavar="FILE", help="read the prompt from a file ('-' for stdin)")
    trial.add_argument("--system", metavar="TEXT")
    trial.add_argument("--system-file", metavar="FILE")
    trial.add_argument("--attach", "-a", action="append", default=[], metavar="FILE",
                       help="an image or text data file (repeatable)")
    trial.add_argument("--temperature", type=float)
    trial.add_argument("--max-tokens", type=int)
    trial.add_argument("--reasoning-effort", choices=REASONING_EFFORTS)
    trial.add_argument("--tools", metavar="FILE",
                       help="tool definitions the models may call (JSON, OpenAI's function format)")
    trial.add_argument("--tool-choice", metavar="CHOICE",
                       help="auto (default), required, none, or the name of the one tool to call")
    trial.add_argument("--schema", metavar="FILE",
                       help="a JSON schema every answer must fit (structured output); desk says whether each does")
    add_policy_args(trial)
    trial.add_argument("--no-stream", action="store_true", help="ask for whole answers instead of streams")
    trial.add_argument("--json", action="store_true", help="one JSON object per response per line")
    trial.set_defaults(handler=_trial)


def _trial(args: argparse.Namespace, app: Application) -> int:
    from desk.engine.policy import RetryPolicy
    from desk.engine.services.trials import TrialNotStored, TrialOutcome
    from desk.engine.session import EngineError

    refs = [_ref(m) for m in args.model]
    if len(set(refs)) != len(refs):
        raise CliError("the same model is listed twice")
    prompt = args.prompt if args.prompt is not None else _read_text(args.prompt_file, "prompt")
    system = args.system if args.system is not None else (
        _read_text(args.system_file, "system prompt") if args.system_file else None
    )
    attachments = []
    for path in args.attach:
        try:
            attachments.append(load_attachment(path))
        except AttachmentError as exc:
            raise CliError(str(exc)) from None
    try:
        settings = GenerationSettings(args.temperature, args.max_tokens, args.reasoning_effort, _schema(args))
        timeouts = timeouts_from(args)
        retry = RetryPolicy(max_retries=args.max_retries)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    trial = TrialInput(prompt, system or None, tuple(attachments), _tools(args))

    async def go() -> TrialOutcome:
        async with app.engine(timeouts=timeouts, retry=retry, stream=not args.no_stream) as engine:
            for ref in refs:
                engine.providers.target(ref)  # unknown providers fail before anything is sent
            progress = Progress(len(refs)) if not args.json and sys.stderr.isatty() else None
            return await engine.trials.run(trial, refs, settings, sink=progress)

    try:
        outcome = _run(go())
    except TrialNotStored as exc:  # a failure, not a bad request
        raise CliError(str(exc), EXIT_FAILED) from None
    except EngineError as exc:
        raise CliError(str(exc)) from None
    return report(outcome.trial_id, outcome.responses, as_json=args.json)


def report(trial_id: str, responses: list[ResponseResult], *, as_json: bool,
           turns: Mapping[str, TurnLink] | None = None) -> int:
    """The answers of a trial (or the turns that continued it: `turns`, by response id) as
    JSON lines or the table; the exit code says whether any failed or was not stored."""
    if as_json:
        for r in responses:
            print(_json(turn_json(r, turns or {})))
    else:
        print_table(trial_id, responses, turns)
    return exit_code(responses)


def exit_code(responses: list[ResponseResult]) -> int:
    """Say which answers failed or were not stored (on stderr); EXIT_FAILED if any did."""
    failed = [r for r in responses if r.status != Status.OK]
    for r in failed:
        _err(f"{r.model} failed: {r.error_kind.value if r.error_kind else r.status.value}: {r.error_message}")
    unstored = [r for r in responses if r.store_error]
    for r in unstored:  # an answer shown but not saved is never a success
        _err(f"{r.model}: {r.store_error}")
    return EXIT_FAILED if failed or unstored else EXIT_OK


def _schema(args: argparse.Namespace) -> dict[str, Any] | None:
    if args.schema is None:
        return None
    try:
        return read_schema(_read_text(args.schema, "schema file"))
    except SchemaError as exc:
        raise CliError(f"{args.schema}: {exc}") from None


def _tools(args: argparse.Namespace) -> ToolSet | None:
    if args.tools is None:
        if args.tool_choice is not None:
            raise CliError("--tool-choice needs --tools")
        return None
    try:
        return read_tools(_read_text(args.tools, "tools file"), args.tool_choice)
    except ToolsError as exc:
        raise CliError(f"{args.tools}: {exc}") from None


class Progress:
    """A one-line live status on a terminal's stderr."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.chars: dict[str, int] = {}

    def _show(self) -> None:
        chars = sum(self.chars.values())
        sys.stderr.write(f"\r{self.done}/{self.total} done, {chars} characters received ")
        sys.stderr.flush()

    def response_started(self, result: ResponseResult) -> None:
        self.chars[result.id] = 0

    def text_received(self, result: ResponseResult, delta: str, parts: list[str]) -> None:
        self.chars[result.id] += len(delta)
        self._show()

    def tool_calls_received(self, result: ResponseResult, calls: list[ToolCall]) -> None:
        pass  # the line counts characters of text; the calls are listed with the answer

    def attempt_finished(self, result: ResponseResult, attempt: Attempt) -> None:
        pass

    def response_finished(self, result: ResponseResult) -> None:
        self.done += 1
        self._show()
        if self.done == self.total:
            sys.stderr.write("\r" + " " * 60 + "\r")


# The --json record of one response (documented in the README): these fields of
# desk.core.records.response_fields, in this order, `id` named response_id.
RESPONSE_JSON_KEYS = (
    "trial_id", "response_id", "model", "status", "error_kind", "error_message", "http_status",
    "ttft_ms", "total_ms", "wall_ms", "connect_ms", "input_tokens", "output_tokens",
    "cached_input_tokens", "reasoning_tokens", "output_tokens_per_s", "cost_usd", "cost_note",
    "price_source", "retries", "retry_wait_ms", "attempts", "finish_reason", "served_model",
    "system_fingerprint", "refusal", "unknown_fields", "tool_calls", "structured_output", "started_at",
    "first_token_at", "ended_at",
    "vendor_request_id", "settings", "text", "notes", "store_error",
)  # fmt: skip


def turn_json(r: ResponseResult, turns: Mapping[str, TurnLink]) -> dict[str, Any]:
    """response_json with the answer's place in its conversation: `turn` (1 for the trial's
    own answer) and `parent_response_id` (the answer its reply followed; None on turn 1)."""
    link = turns.get(r.id)
    return {**response_json(r), "turn": link.turn if link else 1,
            "parent_response_id": link.parent_response_id if link else None}


def response_json(r: ResponseResult) -> dict[str, Any]:
    """The --json record of one response (documented in the README)."""
    values = response_fields(r)
    values.update(
        response_id=r.id,
        cost_note=r.cost_note or None,
        attempts=len(r.attempts),
        unknown_fields={name: f["count"] for name, f in values["unknown_fields"].items()},
        structured_output=_verdict_json(r),
    )
    return pick(values, RESPONSE_JSON_KEYS)


def _verdict_json(r: ResponseResult) -> dict[str, Any] | None:
    """desk's check of an answer asked for a schema (null: none was asked, or it failed)."""
    verdict = verdict_for(r.text, r.settings, r.status == Status.OK, r.structured_verdict)
    return verdict.as_dict() if verdict is not None else None


def _fmt_ms(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f} ms"


def _fmt_cost(r: ResponseResult) -> str:
    if r.cost_usd is None:
        return r.cost_note or "no price"
    return f"${r.cost_usd:.6f}"


def print_table(trial_id: str, responses: list[ResponseResult], turns: Mapping[str, TurnLink] | None = None) -> None:
    """The figures of each answer, then its text; an answer that continues a conversation
    (`turns`, by response id) says its turn and the reply it answers."""
    rows = [("model", "status", "TTFT", "total", "tokens in/out", "tok/s", "cost", "retries")]
    for r in responses:
        status = r.status.value if r.status == Status.OK else f"{r.status.value}: {r.error_kind.value if r.error_kind else '?'}"
        status += " (not stored)" if r.store_error else ""
        tokens = f"{_tok(r.usage.input_tokens)}/{_tok(r.usage.output_tokens)}"
        tps = "-" if r.output_tokens_per_s is None else f"{r.output_tokens_per_s:.1f}"
        rows.append((r.model, status, _fmt_ms(r.ttft_ms), _fmt_ms(r.total_ms), tokens, tps, _fmt_cost(r), str(r.retries)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(f"trial {trial_id}")
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for r in responses:
        link = (turns or {}).get(r.id)
        print(f"\n=== {r.model}{f', turn {link.turn}' if link else ''} ({r.status.value}) ===")
        if link:
            print(f"[reply] {link.reply}")
        if r.text:
            print(r.text)
        if r.tool_calls:
            print(calls_text(r.tool_calls))
        if verdict := verdict_for(r.text, r.settings, r.status == Status.OK, r.structured_verdict):
            print("\n".join(f"[{line}]" if n == 0 else line for n, line in enumerate(verdict.lines())))
        if served := served_label(r.served_model, r.system_fingerprint):
            print(f"[served] {served}")
        for note in r.notes:
            print(f"[note] {note}")
        if r.status != Status.OK:
            print(f"[{r.error_kind.value if r.error_kind else r.status.value}] {r.error_message}")


def _tok(v: int | None) -> str:
    return "?" if v is None else str(v)

