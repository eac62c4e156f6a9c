"""The headless face of desk: the same Application and services as the window, from a terminal.

One module per command group; each declares its arguments next to its handlers in
`register(sub, db)`, binding every handler with `set_defaults(handler=...)`."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from desk import __version__
from desk.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError, _err
from desk.core.attachment import AttachmentError

if TYPE_CHECKING:
    from desk.cli.export import EXPORT_FORMATS
    from desk.cli.trial import response_json
    from desk.engine.application import Application

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "EXPORT_FORMATS", "CliError", "main", "response_json"]

# Each command's group module (desk.cli.<module>), in the order `desk --help` lists them. A
# command line naming one imports that group alone: the others' modules cost every command
# their import time (tests/test_cli_lazy_imports.py holds this table to what they register).
COMMANDS = {
    "provider": "provider", "price": "prices", "prices": "prices", "trial": "trial", "reply": "reply",
    "give-results": "give_results", "history": "history", "runs": "history", "load": "load", "suite": "suite",
    "local": "local", "show": "show", "rate": "rate", "prefer": "rate", "scorecard": "scorecard",
    "export": "export", "merge": "merge", "rubric": "rubric", "judge": "judge",
}
_REEXPORTED = {"EXPORT_FORMATS": "desk.cli.export", "response_json": "desk.cli.trial"}


def __getattr__(name: str) -> object:
    if name in _REEXPORTED:
        return getattr(importlib.import_module(_REEXPORTED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or, given a command line naming one, of that one's group."""
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument(
        "--db", metavar="PATH", default=argparse.SUPPRESS,
        help="SQLite store to use (default: $DESK_DB or the platform data folder)",
    )
    p = argparse.ArgumentParser(
        prog="desk", parents=[db],
        description="Side-by-side trials of AI models on your own material.",
    )
    p.add_argument("--version", action="version", version=f"desk {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    named = _command(argv)
    groups = [COMMANDS[named]] if named in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for group in groups:
        importlib.import_module(f"desk.cli.{group}").register(sub, db)
    return p


def _command(argv: Sequence[str] | None) -> str | None:
    """The command `argv` names: its first word that is no option nor --db's value."""
    words = list(sys.argv[1:] if argv is None else argv)
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            return words[i + 1] if i + 1 < len(words) else None
        if word in ("-h", "--help"):  # `desk -h scorecard`: the help lists every command
            return None
        if not word.startswith("-"):
            return word
        i += 2 if word == "--db" else 1
    return None


# --- entry point --------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, gui: Callable[[str | None], int] | None = None) -> int:
    """Run a CLI command; with none, open the window through `gui` (desk.app wires it)."""
    _tolerant_streams()
    args = _parser(argv).parse_args(argv)
    if args.command is None:
        if gui is None:
            _parser().print_help()
            return EXIT_OK
        return gui(getattr(args, "db", None))
    try:
        return _dispatch(args)
    except CliError as exc:
        _err(str(exc))
        return exc.code
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (`desk … --json | head -1`): not a failure worth a traceback.
        # Point stdout at /dev/null so the interpreter's final flush cannot raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _dispatch(args: argparse.Namespace) -> int:
    from desk.core.response import redact
    from desk.engine.application import Application, StoreError
    from desk.engine.errors import EngineError
    from desk.engine.keys import KeyStoreError

    handler: Callable[[argparse.Namespace, Application], int] = args.handler  # bound by each group's register()
    try:
        app = Application.open(getattr(args, "db", None))
    except EngineError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None
    for note in app.secure_stored_urls():  # a password an older desk kept in a base URL
        print(f"desk: note: {redact(note)}", file=sys.stderr)
    try:
        return handler(args, app)
    except (ValueError, AttachmentError, StoreError) as exc:
        raise CliError(str(exc)) from None
    except KeyStoreError as exc:  # no usable OS keyring: a plain line, not a traceback
        raise CliError(f"{exc}; use --key-env VAR to read it from an environment variable instead",
                       EXIT_FAILED) from None
    finally:
        app.close()


def _tolerant_streams() -> None:
    """Never die printing a character the output's encoding lacks (cp1252 redirects, LANG=C):
    the answer is stored by then, and the UnicodeEncodeError would pass for a usage error."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass
