"""What every command group shares: the error that becomes an exit code, JSON lines,
running a coroutine, an engine for one call, model references and rating filters."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from desk.core.attachment import decode_text
from desk.core.files import FileReadError, mib, read_bounded
from desk.core.response import redact
from desk.core.trial import (
    MAX_PROMPT_FILE_BYTES,
    ModelRef,
    ModelRefError,
    prompt_size_problem,
)

if TYPE_CHECKING:
    from desk.core.rating import RatingFilter
    from desk.engine.application import Application
    from desk.engine.session import Engine

T = TypeVar("T")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A problem to report as one line, with an exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def _err(message: str) -> None:
    # One line, whatever the vendor's message looked like.
    message = " ".join(line.strip() for line in message.splitlines() if line.strip())
    print(f"desk: error: {redact(message)}", file=sys.stderr)  # errors quote requests and vendor replies


def _json(obj: Any) -> str:
    """A JSON line: UTF-8 text where stdout is UTF-8, \\u escapes elsewhere (still valid JSON)."""
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    return json.dumps(obj, ensure_ascii=encoding != "utf8")


def _with_engine(app: Application, use: Callable[[Engine], T], *, prices: bool = True, loop: bool = True) -> T:
    """Call `use(engine)` with an Engine on `store` (the window's path), closing it after;
    `prices` False for a command that prices nothing (see Engine's warm_prices). `loop`
    False for plain calls on the store (a scorecard): no event loop is started, nor asyncio
    imported (issue 21: a command's start-up), unless connections were opened to close."""
    if not loop:
        engine = app.engine(warm_prices=prices)
        try:
            return use(engine)
        finally:
            if engine.opened_connections:
                _run(engine.aclose())

    async def go() -> T:
        async with app.engine(warm_prices=prices) as engine:
            return use(engine)

    return _run(go())


def _ref(text: str) -> ModelRef:
    try:
        return ModelRef.parse(text)
    except ModelRefError as exc:
        raise CliError(str(exc)) from None


def _run(coro: Coroutine[Any, Any, T]) -> T:
    from desk.engine.aio import run

    return run(coro)


def _choice(flag: str, value: str, keys: Sequence[str]) -> str:
    if value not in keys:
        raise CliError(f"{flag} {value!r} is not one of {', '.join(keys)}")
    return value


def _read_text(path: str, what: str) -> str:
    """A prompt file (or stdin for "-"), read at most MAX_PROMPT_FILE_BYTES far."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_PROMPT_FILE_BYTES + 1)
            if len(data) > MAX_PROMPT_FILE_BYTES:
                raise CliError(f"the {what} on stdin is larger than {mib(MAX_PROMPT_FILE_BYTES)}; "
                               "shorten it or attach the text as a file")
        else:
            data = read_bounded(path, MAX_PROMPT_FILE_BYTES, what=f"{what} file")
    except FileReadError as exc:
        raise CliError(f"cannot read the {what} file: {exc}") from None
    except OSError as exc:
        raise CliError(f"cannot read the {what} file {path}: {exc.strerror or exc}") from None
    try:
        text = decode_text(data)[0]
    except ValueError as exc:
        raise CliError(f"the {what} file {path} {exc}") from None
    problem = prompt_size_problem(text, what)
    if problem:
        raise CliError(problem)
    return text


def _filter_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tag", action="append", default=[], metavar="TAG",
                   help="only ratings carrying this tag (repeatable: every tag)")
    p.add_argument("--rater", metavar="NAME", help="only this rater's ratings")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="rated on or after this day (local time)")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="rated on or before this day (local time)")
    p.add_argument("--trial", action="extend", nargs="+", default=[], metavar="ID",
                   help="only these trials (repeatable)")


def _filters(args: argparse.Namespace, engine: Engine) -> RatingFilter:
    from desk.core.rating import RatingFilter

    since = _day("--since", args.since) if args.since else None
    until = _day("--until", args.until, next_day=True) if args.until else None
    if since is not None and until is not None and until <= since:
        raise CliError(f"--until {args.until} is before --since {args.since}")
    trials = tuple(dict.fromkeys(args.trial))
    for trial_id in trials:
        if engine.trials.history.get(trial_id) is None:
            raise CliError(f"no trial {trial_id!r}")
    tags = tuple(dict.fromkeys(t.strip() for t in args.tag if t.strip()))
    rater = " ".join(args.rater.split()) if args.rater else None
    return RatingFilter(tags=tags, rater=rater or None, since=since, until=until, trial_ids=trials)


def _day(flag: str, text: str, *, next_day: bool = False) -> float:
    """Local midnight at the start of a YYYY-MM-DD day (of the day after, for --until)."""
    import datetime as dt

    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise CliError(f"{flag} {text!r} is not a date (YYYY-MM-DD)") from None
    if next_day:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time()).timestamp()

