"""`desk local …`: the built-in small model (the `desk[local]` extra) on the command line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from desk.engine import local_model

if TYPE_CHECKING:
    from desk.engine.application import Application
    from desk.engine.session import Engine


def add_parser(sub: Any, db: argparse.ArgumentParser) -> None:
    local = sub.add_parser("local", parents=[db], help="the built-in small model (needs desk[local])")
    lsub = local.add_subparsers(dest="action", metavar="ACTION", required=True)
    serve = lsub.add_parser("serve", parents=[db],
                            help=f"serve Gemma 3 270M on 127.0.0.1 as provider '{local_model.LOCAL_PROVIDER}'")
    serve.add_argument("--port", type=int, default=None,
                       help=f"port on 127.0.0.1 (default {local_model.DEFAULT_PORT}, or a free one if taken)")
    serve.add_argument("--timeout", type=float, default=120.0, metavar="S", help="how long to wait for it to load")
    status = lsub.add_parser("status", parents=[db], help="is the extra installed, the model assembled, the server up")
    status.add_argument("--json", action="store_true")


def register(sub: Any, db: argparse.ArgumentParser) -> None:
    add_parser(sub, db)
    sub.choices["local"].set_defaults(handler=_handle)


def _handle(args: argparse.Namespace, app: Application) -> int:

    engine = app.engine()
    if args.action == "serve":
        return serve(args, engine)
    return status(args, engine)


def serve(args: argparse.Namespace, engine: Engine) -> int:
    """Assemble the model if needed, start its server, register it, serve until Ctrl+C."""
    from desk.cli.common import CliError as cli_error
    from desk.cli.common import _run as run_coro

    reason = local_model.missing()
    if reason:
        raise cli_error(reason)
    try:
        print("Preparing the model (assembled and checked once, then cached)…", file=sys.stderr)
        path = local_model.model_path()
        server = local_model.start(args.port)
    except (local_model.LocalModelError, OSError, ValueError) as exc:
        raise cli_error(str(exc), 1) from None
    try:
        try:
            run_coro(local_model.wait_ready(server, args.timeout))
        except local_model.LocalModelError as exc:
            raise cli_error(str(exc), 1) from None
        ref = engine.providers.register_local(server.port)
        print(f"Serving {path.name} at {server.base_url} as {ref} (Ctrl+C stops it).", flush=True)
        server.process.wait()
        return 0 if server.process.returncode in (0, None) else 1
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


def status(args: argparse.Namespace, engine: Engine) -> int:
    from desk.cli.common import _run as run_coro

    reason = local_model.missing()
    assembled = reason is None and local_model.weights_path().exists()
    config = engine.providers.configs.get(local_model.LOCAL_PROVIDER)
    answering = False
    if config is not None:
        answering = run_coro(local_model.answering(config.base_url))
    info = {"installed": reason is None, "reason": reason, "model_assembled": assembled,
            "provider": config.name if config else None, "base_url": config.base_url if config else None,
            "answering": answering}
    if args.json:
        print(json.dumps(info))
    else:
        print(f"extra installed: {'yes' if reason is None else 'no — ' + reason}")
        print(f"model assembled: {'yes' if assembled else 'no'}")
        print(f"provider: {info['provider'] or 'not added (desk local serve adds it)'}"
              + (f" at {info['base_url']}, {'answering' if answering else 'not answering'}" if config else ""))
    return 0
