"""The headless face of desk: the same engine and store as the window, from a terminal."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from desk import __version__
from desk.cli import load as cli_load
from desk.cli import local as cli_local
from desk.cli import suite as cli_suite
from desk.cli.policy import add_policy_args, timeouts_from
from desk.core.attachment import AttachmentError, decode_text, load_attachment
from desk.core.constraint_reading import DEFAULT_READING, READINGS
from desk.core.files import FileReadError, mib, read_bounded
from desk.core.pricing import Price
from desk.core.provider import ProviderConfig
from desk.core.response import ResponseResult, Status, redact
from desk.core.rubric import CONSTRAINTS, DEFAULT_RUBRIC, OUTCOMES, UNCERTAINTY, WINNERS
from desk.core.trial import (
    MAX_PROMPT_FILE_BYTES,
    REASONING_EFFORTS,
    GenerationSettings,
    ModelRef,
    ModelRefError,
    TrialInput,
    prompt_size_problem,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Kinds:
    """The protocol kinds, as argparse choices, read from desk.providers.registry (their one
    list) only when a `provider add` is parsed or its help shown: that imports httpx, which
    every other command would pay for at start-up."""

    def _kinds(self) -> tuple[str, ...]:
        from desk.providers.registry import KINDS

        return KINDS

    def __contains__(self, kind: object) -> bool:
        return kind in self._kinds()

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds())


class CliError(Exception):
    """A problem to report as one line, with an exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


# --- argument parsing ---------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
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

    prov = sub.add_parser("provider", parents=[db], help="configure model providers")
    psub = prov.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = psub.add_parser("add", parents=[db], help="add a provider")
    add.add_argument("name")
    add.add_argument("--kind", required=True, choices=_Kinds())
    add.add_argument("--base-url", help="default: the vendor's official URL")
    add.add_argument("--key-env", metavar="VAR", help="environment variable holding the API key")
    add.add_argument("--api-version", help="Azure OpenAI api-version")
    add.add_argument("--key-stdin", action="store_true", help="read the API key from stdin into the OS keyring")
    lst = psub.add_parser("list", parents=[db], help="list providers")
    lst.add_argument("--json", action="store_true")
    rm = psub.add_parser("remove", parents=[db], help="remove a provider")
    rm.add_argument("name")
    key = psub.add_parser("set-key", parents=[db], help="store a provider's API key in the OS keyring")
    key.add_argument("name")
    models = psub.add_parser("models", parents=[db], help="list the models a provider serves")
    models.add_argument("name")
    models.add_argument("--json", action="store_true")
    test = psub.add_parser("test", parents=[db], help="check that a provider answers")
    test.add_argument("name")
    disc = psub.add_parser(
        "discover", parents=[db], help="find model servers running on this computer (127.0.0.1)",
        description="Probe 127.0.0.1 for Ollama (11434), LM Studio (1234), llama.cpp's server (8080) "
                    "and vLLM (8000), and list the models each serves.",
    )
    disc.add_argument("--json", action="store_true", help="one JSON object per server found")
    disc.add_argument("--add", action="store_true", help="add every server found as a provider, with its models")
    disc.add_argument("--port", action="append", default=[], metavar="NAME=PORT",
                      help="probe only NAME (ollama, lmstudio, llamacpp, vllm) on PORT instead "
                           "(repeatable; for testing or servers on non-default ports)")

    price = sub.add_parser("price", parents=[db], help="set model prices (USD per million tokens)")
    prsub = price.add_subparsers(dest="action", metavar="ACTION", required=True)
    pset = prsub.add_parser("set", parents=[db], help="set your own price for a model (wins over the catalog)")
    pset.add_argument("model", metavar="NAME/MODEL")
    pset.add_argument("--input", type=_non_negative, required=True, metavar="USD_PER_MTOK")
    pset.add_argument("--output", type=_non_negative, required=True, metavar="USD_PER_MTOK")
    pset.add_argument("--cached-input", type=_non_negative, metavar="USD_PER_MTOK")
    plist = prsub.add_parser("list", parents=[db], help="list your prices")
    plist.add_argument("--json", action="store_true")
    pdel = prsub.add_parser("delete", parents=[db], help="delete your price for a model")
    pdel.add_argument("model", metavar="NAME/MODEL")

    prices = sub.add_parser("prices", parents=[db], help="price data: what is in use, refresh, import a team's prices")
    pssub = prices.add_subparsers(dest="action", metavar="ACTION", required=True)
    pinfo = pssub.add_parser("info", parents=[db], help="which price data is in use and from when")
    pinfo.add_argument("--json", action="store_true")
    pupd = pssub.add_parser("update", parents=[db], help="fetch the newer price list (online) and keep it")
    pupd.add_argument("--url", help="where to fetch it from (default: genai-prices' maintained list)")
    pimp = pssub.add_parser("import", parents=[db], help="load negotiated prices from a CSV as your own prices")
    pimp.add_argument("file", metavar="FILE.csv", help="columns: model (NAME/MODEL), input, output, cached_input")

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
    add_policy_args(trial)
    trial.add_argument("--no-stream", action="store_true", help="ask for whole answers instead of streams")
    trial.add_argument("--json", action="store_true", help="one JSON object per response per line")

    hist = sub.add_parser("history", parents=[db], help="list past trials, newest first")
    hist.add_argument("--search", metavar="TEXT")
    hist.add_argument("--limit", type=int, default=20)
    hist.add_argument("--json", action="store_true")

    runs = sub.add_parser("runs", parents=[db], help="list load and suite runs, newest first (ids for export --run)")
    runs.add_argument("--kind", choices=("load", "suite"), help="only runs of this kind")
    runs.add_argument("--limit", type=int, default=20)
    runs.add_argument("--json", action="store_true", help="one JSON object per run")

    cli_load.add_parser(sub, db)
    cli_suite.add_parser(sub, db)
    cli_local.add_parser(sub, db)

    show = sub.add_parser("show", parents=[db], help="show a past trial and its answers")
    show.add_argument("trial_id")
    show.add_argument("--json", action="store_true")

    quality = DEFAULT_RUBRIC.criterion("quality")
    rate = sub.add_parser("rate", parents=[db], help="rate one answer (how it handled uncertainty first)")
    rate.add_argument("response_id", metavar="RESPONSE_ID")
    rate.add_argument("--outcome", required=True, metavar="|".join(OUTCOMES))
    # Asked of every answer but a failed one, which is rated by its outcome alone (the store says which).
    rate.add_argument("--uncertainty", metavar="KEY", help=", ".join(UNCERTAINTY))
    rate.add_argument("--constraints", metavar="|".join(CONSTRAINTS))
    rate.add_argument("--quality", metavar=f"{quality.low}-{quality.high}")
    rate.add_argument("--note", metavar="TEXT")
    rate.add_argument("--tag", action="append", default=[], metavar="TAG", help="repeatable")
    rate.add_argument("--value", action="append", default=[], metavar="KEY=VALUE",
                      help="an extra criterion of your rubric (repeatable; tags comma-separated)")
    rate.add_argument("--rater", metavar="NAME", help="who rates (default: the rater name set in the app)")
    rate.add_argument("--json", action="store_true", help="print the saved rating as JSON")

    prefer = sub.add_parser("prefer", parents=[db], help="say which of two answers to one trial is better")
    prefer.add_argument("response_a", metavar="RESPONSE_A")
    prefer.add_argument("response_b", metavar="RESPONSE_B")
    prefer.add_argument("--winner", required=True, metavar="|".join(WINNERS))
    prefer.add_argument("--reason", default="", metavar="TEXT")
    prefer.add_argument("--rater", metavar="NAME", help="who judges (default: the rater name set in the app)")
    prefer.add_argument("--json", action="store_true", help="print the saved preference as JSON")

    score = sub.add_parser("scorecard", parents=[db], help="per-model figures from the ratings")
    score.add_argument("--json", action="store_true", help="a JSON list, one object per model")
    score.add_argument("--run", metavar="RUN_ID",
                       help="only a suite run's answers; each model gains by_expect (per expected behaviour)")
    score.add_argument("--compare", nargs=2, metavar=("A", "B"),
                       help="with --run: model A against model B on the same cases (wins, losses, ties, "
                            "sign-test p-value)")
    score.add_argument("--constraints", choices=READINGS, default=DEFAULT_READING,
                       help="which verdict of the automatic constraint checks (rater 'auto') counts: "
                            "IFBench's official one (default) or desk's reading of the instructions")
    _filter_arguments(score)

    export = sub.add_parser(
        "export", parents=[db], help="write rated answers for analysis or preference tuning",
        description="csv/parquet: one row per rated answer (per rater); jsonl: the same, nested; "
                    "pairs: prompt/chosen/rejected per preference with a winner (ties and "
                    "'both bad' are skipped).",
    )
    export.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    export.add_argument("--out", "-o", required=True, metavar="FILE", help="'-' for stdout (not parquet)")
    export.add_argument("--run", metavar="RUN_ID", help=cli_load.RUN_EXPORT_HELP)
    export.add_argument("--no-bom", action="store_true",
                        help="CSV: no UTF-8 byte order mark (by default a CSV file starts with one, so Excel "
                             "reads it as UTF-8; stdout never gets one)")
    _filter_arguments(export)

    merge = sub.add_parser("merge", parents=[db], help="add another desk store's trials and ratings to this one")
    merge.add_argument("other", metavar="OTHER.db")
    merge.add_argument("--json", action="store_true")

    rubric = sub.add_parser("rubric", parents=[db], help="the rubric answers are rated by")
    rsub = rubric.add_subparsers(dest="action", metavar="ACTION", required=True)
    rshow = rsub.add_parser("show", parents=[db], help="print the current rubric: criteria and option keys")
    rshow.add_argument("--json", action="store_true")
    return p


EXPORT_FORMATS = ("csv", "jsonl", "pairs", "parquet")  # desk.engine.export.FORMATS, not imported at start-up


def _filter_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tag", action="append", default=[], metavar="TAG",
                   help="only ratings carrying this tag (repeatable: every tag)")
    p.add_argument("--rater", metavar="NAME", help="only this rater's ratings")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="rated on or after this day (local time)")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="rated on or before this day (local time)")
    p.add_argument("--trial", action="extend", nargs="+", default=[], metavar="ID",
                   help="only these trials (repeatable)")


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("prices cannot be negative")
    return value


# --- entry point --------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, gui: Callable[[str | None], int] | None = None) -> int:
    """Run a CLI command; with none, open the window through `gui` (desk.app wires it)."""
    _tolerant_streams()
    args = _parser().parse_args(argv)
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
    from desk.engine.keys import KeyStoreError
    from desk.store.db import StoreError, open_store

    handler = _HANDLERS[(args.command, getattr(args, "action", None))]
    try:
        store = open_store(getattr(args, "db", None))
    except StoreError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None
    try:
        return handler(args, store)
    except (ValueError, AttachmentError, StoreError) as exc:
        raise CliError(str(exc)) from None
    except KeyStoreError as exc:  # no usable OS keyring: a plain line, not a traceback
        raise CliError(f"{exc}; use --key-env VAR to read it from an environment variable instead",
                       EXIT_FAILED) from None
    finally:
        store.close()


def _err(message: str) -> None:
    # One line, whatever the vendor's message looked like.
    message = " ".join(line.strip() for line in message.splitlines() if line.strip())
    print(f"desk: error: {redact(message)}", file=sys.stderr)  # errors quote requests and vendor replies


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


def _json(obj: Any) -> str:
    """A JSON line: UTF-8 text where stdout is UTF-8, \\u escapes elsewhere (still valid JSON)."""
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    return json.dumps(obj, ensure_ascii=encoding != "utf8")


# --- providers ----------------------------------------------------------------------------


def _provider_add(args: argparse.Namespace, store: Any) -> int:
    from desk.engine.keys import KeyStoreError, set_api_key
    from desk.providers.registry import base_url_problem, default_base_url

    config = ProviderConfig(
        name=args.name,
        kind=args.kind,
        base_url=(args.base_url or default_base_url(args.kind)).rstrip("/"),
        key_env=args.key_env,
        api_version=args.api_version,
    )
    problem = base_url_problem(config.kind, config.base_url)
    if problem:
        raise CliError(problem)
    key = ""
    if args.key_stdin:  # at a terminal, never echo the key
        key = (getpass.getpass(f"API key for {args.name}: ") if sys.stdin.isatty() else sys.stdin.readline()).strip()
    store.add_provider(config)
    if key:
        try:
            set_api_key(config.name, key)
        except KeyStoreError:
            store.remove_provider(config.name)  # all or nothing: no provider left without its key
            raise
    warning = _plain_http_warning(config)
    if warning:
        print(f"desk: warning: {warning}", file=sys.stderr)
    print(f"added provider {config.name} ({config.kind}, {config.base_url})")
    return EXIT_OK


def _plain_http_warning(config: ProviderConfig) -> str | None:
    from urllib.parse import urlsplit

    url = urlsplit(config.base_url)
    if url.scheme == "http" and url.hostname not in ("localhost", "127.0.0.1", "::1", "[::1]"):
        return f"{config.base_url} is plain http to another host: an API key would travel unencrypted"
    return None


def _provider_list(args: argparse.Namespace, store: Any) -> int:
    providers = store.list_providers()
    if args.json:
        for p in providers:
            print(json.dumps({"name": p.name, "kind": p.kind, "base_url": redact(p.base_url),
                              "key_env": p.key_env, "api_version": p.api_version}))
        return EXIT_OK
    if not providers:
        print("no providers yet; add one with: desk provider add NAME --kind openai --base-url URL")
    for p in providers:
        key = f"key from ${p.key_env}" if p.key_env else "key from keyring (if any)"
        print(f"{p.name:<20} {p.kind:<10} {redact(p.base_url)}  [{key}]")  # a store made before the rule
    return EXIT_OK


def _provider_remove(args: argparse.Namespace, store: Any) -> int:
    from desk.engine.keys import delete_api_key

    if not store.remove_provider(args.name):
        raise CliError(f"no provider named {args.name!r}")
    delete_api_key(args.name)
    print(f"removed provider {args.name}")
    return EXIT_OK


def _provider_set_key(args: argparse.Namespace, store: Any) -> int:
    from desk.engine.keys import set_api_key

    if store.get_provider(args.name) is None:
        raise CliError(f"no provider named {args.name!r}")
    key = getpass.getpass(f"API key for {args.name}: ") if sys.stdin.isatty() else sys.stdin.readline()
    if not key.strip():
        raise CliError("no key given")
    set_api_key(args.name, key.strip())
    print(f"stored the key for {args.name} in the OS keyring")
    return EXIT_OK


def _provider_models(args: argparse.Namespace, store: Any) -> int:
    from desk.engine.session import Engine
    from desk.providers.base import ProviderError

    async def go() -> list[str]:
        async with Engine(store) as engine:
            return await engine.list_models(args.name)

    try:
        names = _run(go())
    except ProviderError as exc:
        raise CliError(f"{args.name}: {exc}", EXIT_FAILED) from None
    for name in names:
        print(json.dumps({"provider": args.name, "model": name}) if args.json else f"{args.name}/{name}")
    return EXIT_OK


def _provider_test(args: argparse.Namespace, store: Any) -> int:
    from desk.engine.session import Engine
    from desk.providers.base import ProviderError

    async def go() -> float:
        async with Engine(store) as engine:
            return await engine.test_provider(args.name)

    try:
        ms = _run(go())
    except ProviderError as exc:
        raise CliError(f"{args.name}: {exc}", EXIT_FAILED) from None
    print(f"{args.name}: ok ({ms:.0f} ms)")
    return EXIT_OK


def _discover_candidates(items: Sequence[str]) -> tuple[tuple[str, str, int], ...]:
    from desk.engine.discover import DEFAULT_CANDIDATES

    if not items:
        return DEFAULT_CANDIDATES
    kinds = {name: kind for name, kind, _ in DEFAULT_CANDIDATES}
    chosen: dict[str, tuple[str, str, int]] = {}
    for item in items:
        name, sep, port = item.partition("=")
        name = name.strip()
        if not sep or name not in kinds:
            raise CliError(f"--port wants NAME=PORT with NAME one of {', '.join(kinds)}, not {item!r}")
        try:
            number = int(port)
        except ValueError:
            number = 0
        if not 0 < number < 65536:
            raise CliError(f"--port {item!r}: the port must be a number from 1 to 65535")
        chosen[name] = (name, kinds[name], number)
    return tuple(chosen.values())


def _provider_discover(args: argparse.Namespace, store: Any) -> int:
    from desk.engine.discover import add_found, describe_candidates, discover
    from desk.engine.session import Engine

    candidates = _discover_candidates(args.port)

    async def go() -> list[tuple[Any, str | None]]:
        found = await discover(candidates=candidates)
        if not args.add:
            return [(f, None) for f in found]
        async with Engine(store) as engine:
            return [(f, await add_found(engine, f)) for f in found]

    results = _run(go())
    if not results and not args.json:
        print(f"no local model servers found on 127.0.0.1 ({describe_candidates(candidates)})")
    for found, added in results:
        if args.json:
            obj = {"name": found.name, "server": found.server, "kind": found.kind,
                   "base_url": found.base_url, "models": list(found.models)}
            if args.add:
                obj["added_as"] = added
            print(_json(obj))
            continue
        models = ", ".join(found.models) or "no models pulled yet"
        print(f"{found.server} at {found.base_url}: {models}")
        if added:
            print(f"  added provider {added} ({found.kind}) with {len(found.models)} model(s)")
    return EXIT_OK


# --- prices -------------------------------------------------------------------------------


def _price_set(args: argparse.Namespace, store: Any) -> int:
    ref = _ref(args.model)
    if store.get_provider(ref.provider) is None:
        raise CliError(f"unknown provider {ref.provider!r}; add it first with 'desk provider add'")
    store.set_price(ref.provider, ref.model, Price(args.input, args.output, args.cached_input))
    cached = f", cached input ${args.cached_input:g}" if args.cached_input is not None else ""
    print(f"{ref}: input ${args.input:g}, output ${args.output:g}{cached} per million tokens")
    return EXIT_OK


def _price_list(args: argparse.Namespace, store: Any) -> int:
    for provider, model, price in store.list_prices():
        if args.json:
            print(json.dumps({"model": f"{provider}/{model}", "input": price.input_per_mtok,
                              "output": price.output_per_mtok,
                              "cached_input": price.cached_input_per_mtok}))
        else:
            cached = "" if price.cached_input_per_mtok is None else f"  cached {price.cached_input_per_mtok:g}"
            print(f"{provider}/{model:<40} in {price.input_per_mtok:g}  out {price.output_per_mtok:g}{cached}")
    return EXIT_OK


def _price_delete(args: argparse.Namespace, store: Any) -> int:
    ref = _ref(args.model)
    if not store.delete_price(ref.provider, ref.model):
        raise CliError(f"no price set for {ref}")
    print(f"deleted your price for {ref}")
    return EXIT_OK


# --- trials -------------------------------------------------------------------------------


def _trial(args: argparse.Namespace, store: Any) -> int:
    from desk.engine.policy import RetryPolicy
    from desk.engine.session import Engine, EngineError

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
        settings = GenerationSettings(args.temperature, args.max_tokens, args.reasoning_effort)
        timeouts = timeouts_from(args)
        retry = RetryPolicy(max_retries=args.max_retries)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    trial = TrialInput(prompt, system or None, tuple(attachments))

    async def go() -> Any:
        async with Engine(store, timeouts=timeouts, retry=retry, stream=not args.no_stream) as engine:
            for ref in refs:
                engine.target(ref)  # unknown providers fail before anything is sent
            progress = _Progress(len(refs)) if not args.json and sys.stderr.isatty() else None
            return await engine.run_trial(trial, refs, settings, sink=progress)

    try:
        outcome = _run(go())
    except EngineError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        for r in outcome.responses:
            print(_json(response_json(r)))
    else:
        _print_table(outcome.trial_id, outcome.responses)
    failed = [r for r in outcome.responses if r.status != Status.OK]
    for r in failed:
        _err(f"{r.model} failed: {r.error_kind.value if r.error_kind else r.status.value}: {r.error_message}")
    unstored = [r for r in outcome.responses if r.store_error]
    for r in unstored:  # an answer shown but not saved is never a success
        _err(f"{r.model}: {r.store_error}")
    return EXIT_FAILED if failed or unstored else EXIT_OK


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


class _Progress:
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

    def attempt_finished(self, result: ResponseResult, attempt: Any) -> None:
        pass

    def response_finished(self, result: ResponseResult) -> None:
        self.done += 1
        self._show()
        if self.done == self.total:
            sys.stderr.write("\r" + " " * 60 + "\r")


def response_json(r: ResponseResult) -> dict[str, Any]:
    """The --json record of one response (documented in the README)."""
    return {
        "trial_id": r.trial_id,
        "response_id": r.id,
        "model": r.model,
        "status": r.status.value,
        "error_kind": r.error_kind.value if r.error_kind else None,
        "error_message": r.error_message,
        "http_status": r.http_status,
        "ttft_ms": r.ttft_ms,
        "total_ms": r.total_ms,
        "wall_ms": r.wall_ms,
        "connect_ms": r.connect_ms,
        "input_tokens": r.usage.input_tokens,
        "output_tokens": r.usage.output_tokens,
        "cached_input_tokens": r.usage.cached_input_tokens,
        "reasoning_tokens": r.usage.reasoning_tokens,
        "output_tokens_per_s": r.output_tokens_per_s,
        "cost_usd": r.cost_usd,
        "cost_note": r.cost_note or None,
        "price_source": r.price_source,
        "retries": r.retries,
        "retry_wait_ms": r.retry_wait_ms,
        "attempts": len(r.attempts),
        "finish_reason": r.finish_reason,
        "refusal": r.refusal,
        "unknown_fields": {name: f.count for name, f in r.unknown_fields.items()},
        "started_at": r.started_at,
        "first_token_at": r.first_token_at,
        "ended_at": r.ended_at,
        "vendor_request_id": r.vendor_request_id,
        "settings": r.settings,
        "text": r.text,
        "notes": r.notes,
        "store_error": r.store_error,
    }


def _fmt_ms(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f} ms"


def _fmt_cost(r: ResponseResult) -> str:
    if r.cost_usd is None:
        return r.cost_note or "no price"
    return f"${r.cost_usd:.6f}"


def _print_table(trial_id: str, responses: list[ResponseResult]) -> None:
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
        print(f"\n=== {r.model} ({r.status.value}) ===")
        if r.text:
            print(r.text)
        for note in r.notes:
            print(f"[note] {note}")
        if r.status != Status.OK:
            print(f"[{r.error_kind.value if r.error_kind else r.status.value}] {r.error_message}")


def _tok(v: int | None) -> str:
    return "?" if v is None else str(v)


def _history(args: argparse.Namespace, store: Any) -> int:
    for t in store.list_trials(search=args.search, limit=args.limit):
        if args.json:
            print(_json({"trial_id": t.id, "created_at": t.created_at, "prompt": t.prompt_preview,
                         "models": t.models, "n_responses": t.n_responses}))
        else:
            preview = " ".join(t.prompt_preview.split())[:70]
            print(f"{t.id}  {_when(t.created_at)}  {len(t.models)} model(s)  {preview}")
    return EXIT_OK


def _runs(args: argparse.Namespace, store: Any) -> int:
    """Every kind of run in one list: its id is what `desk export --run` takes."""
    found = store.list_runs(args.kind, args.limit)
    if not found and not args.json:
        print("no runs yet: desk load … or desk suite run … make one")
    for r in found:
        models = r.spec.get("models") or []
        ok, failed = _run_counts(r.kind, r.summary)
        lost = (r.summary or {}).get("not_stored") or 0
        if args.json:
            print(_json({"run_id": r.id, "kind": r.kind, "name": r.name, "status": r.status,
                         "created_at": r.created_at, "finished_at": r.finished_at, "models": models,
                         "ok": ok, "failed": failed, "not_stored": lost}))
        else:
            label = f"  {r.name}" if r.name else ""
            # "done" says the run finished, not that it went well: the counts say that
            counts = f"{ok} ok, {failed} failed" if ok is not None else ""
            counts += f", {lost} not stored" if lost else ""
            print(f"{r.id}  {_when(r.created_at)}  {r.kind:<5}  {r.status:<11}  {counts:<18}  "
                  f"{', '.join(map(str, models))}{label}")
    return EXIT_OK


def _run_counts(kind: str, summary: dict[str, Any] | None) -> tuple[int | None, int | None]:
    """Answers that succeeded and that failed in a finished run (None while it has no summary)."""
    if not summary:
        return None, None
    if kind == "load":
        per_model = (summary.get("models") or {}).values()
        ok = sum(m.get("ok", 0) for m in per_model)
        return ok, sum(m.get("requests", 0) for m in per_model) - ok
    # a resumed suite run's summary counts what that session sent; the rest were answered before
    return summary.get("ok", 0) + summary.get("skipped", 0), summary.get("failed")


def _when(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _show(args: argparse.Namespace, store: Any) -> int:
    stored = store.get_trial(args.trial_id)
    if stored is None:
        raise CliError(f"no trial {args.trial_id!r}")
    responses = store.responses_for_trial(args.trial_id)
    if args.json:
        for r in responses:
            print(_json(response_json(r)))
        return EXIT_OK
    print(f"prompt: {stored.input.prompt}")
    if stored.input.system:
        print(f"system: {stored.input.system}")
    for a in stored.input.attachments:
        print(f"attachment: {a.name} ({a.kind}, {a.size} bytes)")
    _print_table(args.trial_id, responses)
    return EXIT_OK


# --- rating, preferences, scorecard, export, merge ----------------------------------------


def _with_engine(store: Any, use: Callable[[Any], Any]) -> Any:
    """Call `use(engine)` with an Engine on `store` (the window's path), closing it after."""
    from desk.engine.session import Engine

    async def go() -> Any:
        async with Engine(store) as engine:
            return use(engine)

    return _run(go())


def _choice(flag: str, value: str, keys: Sequence[str]) -> str:
    if value not in keys:
        raise CliError(f"{flag} {value!r} is not one of {', '.join(keys)}")
    return value


def _rater(args: argparse.Namespace, store: Any) -> str:
    name = " ".join((args.rater or "").split()) or store.get_setting("rater_name")
    if not name:
        raise CliError("say who is rating with --rater NAME (no rater name is set)")
    return name


def _response(store: Any, response_id: str) -> ResponseResult:
    found = store.get_response(response_id)
    if found is None:
        raise CliError(f"no response {response_id!r}")
    return found


def _rate(args: argparse.Namespace, store: Any) -> int:
    from desk.engine.export import rating_json

    quality = DEFAULT_RUBRIC.criterion("quality")
    score: int | None = None
    if args.quality is not None:
        try:
            score = int(args.quality)
        except ValueError:
            score = None
        if score is None or not quality.low <= score <= quality.high:
            raise CliError(f"--quality {args.quality!r} must be a whole number from {quality.low} to {quality.high}")
    values: dict[str, Any] = {
        "outcome": _choice("--outcome", args.outcome, OUTCOMES),
        "uncertainty": args.uncertainty and _choice("--uncertainty", args.uncertainty, UNCERTAINTY),
        "constraints": args.constraints and _choice("--constraints", args.constraints, CONSTRAINTS),
        "quality": score,
        "note": args.note,
        "tags": list(args.tag),
    }
    rater = _rater(args, store)
    _response(store, args.response_id)

    def save(engine: Any) -> tuple[Any, Any]:
        rubric = engine.rubric()
        for item in args.value:
            key, value = _extra_value(rubric, item)
            if key in values:
                raise CliError(f"--value {key}: use its own option (--{'tag' if key == 'tags' else key})")
            values[key] = value
        return engine.save_rating(args.response_id, values, rater=rater), rubric

    rating, rubric = _with_engine(store, save)
    if args.json:
        print(_json(rating_json(rating, rubric)))
    else:
        print(rating.id + (f" (replaces {rating.supersedes})" if rating.supersedes else ""))
    return EXIT_OK


def _extra_value(rubric: Any, item: str) -> tuple[str, Any]:
    """KEY=VALUE for a criterion of the rubric, typed by its kind."""
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise CliError(f"--value {item!r} must be written KEY=VALUE")
    try:
        criterion = rubric.criterion(key)
    except KeyError:
        known = ", ".join(c.key for c in rubric.criteria)
        raise CliError(f"--value {key}: the rubric has no criterion {key!r} (it has {known})") from None
    if criterion.kind == "scale":
        try:
            return key, int(text)
        except ValueError:
            raise CliError(
                f"--value {key}={text!r} must be a whole number from {criterion.low} to {criterion.high}"
            ) from None
    if criterion.kind == "tags":
        return key, [t for t in text.split(",") if t.strip()]
    return key, text


def _prefer(args: argparse.Namespace, store: Any) -> int:
    winner = _choice("--winner", args.winner, WINNERS)
    rater = _rater(args, store)
    a, b = _response(store, args.response_a), _response(store, args.response_b)
    if a.id == b.id:
        raise CliError("a preference compares two different answers")
    if a.trial_id != b.trial_id:
        raise CliError(f"responses {a.id} and {b.id} answer different trials ({a.trial_id}, {b.trial_id})")
    earlier = [p.id for p in store.current_preferences(rater, trial_id=a.trial_id)
               if {p.response_a, p.response_b} == {a.id, b.id}]
    pref = _with_engine(store, lambda engine: engine.save_preference(
        a.id, b.id, winner, reason=args.reason, rater=rater))
    if args.json:
        print(_json({"id": pref.id, "response_a": pref.response_a, "response_b": pref.response_b,
                     "winner": pref.winner, "rater": pref.rater, "reason": pref.reason,
                     "created_at": pref.created_at, "trial_id": a.trial_id,
                     "supersedes": earlier[-1] if earlier else None}))
    else:
        print(pref.id + (f" (replaces {earlier[-1]})" if earlier else ""))
    return EXIT_OK


def _filters(args: argparse.Namespace, store: Any) -> Any:
    from desk.engine.session import ScoreFilter

    since = _day("--since", args.since) if args.since else None
    until = _day("--until", args.until, next_day=True) if args.until else None
    if since is not None and until is not None and until <= since:
        raise CliError(f"--until {args.until} is before --since {args.since}")
    trials = tuple(dict.fromkeys(args.trial))
    for trial_id in trials:
        if store.get_trial(trial_id) is None:
            raise CliError(f"no trial {trial_id!r}")
    tags = tuple(dict.fromkeys(t.strip() for t in args.tag if t.strip()))
    rater = " ".join(args.rater.split()) if args.rater else None
    return ScoreFilter(tags=tags, rater=rater or None, since=since, until=until, trial_ids=trials)


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


def _scorecard(args: argparse.Namespace, store: Any) -> int:
    filters = _filters(args, store)
    if args.compare:
        if not args.run:
            raise CliError("--compare needs --run RUN_ID (the suite run whose cases are compared)")
        a, b = args.compare
        result = _with_engine(store, lambda engine: engine.compare_models(args.run, a, b, filters))
        if args.json:
            print(_json(result.as_json()))
        else:
            cli_suite.print_comparison(result)
        return EXIT_OK
    if args.run:
        scores = _with_engine(store, lambda engine: engine.run_scorecard(args.run, filters,
                                                                         constraints=args.constraints))
    else:
        scores = _with_engine(store, lambda engine: engine.scorecard(filters, constraints=args.constraints))
    if args.json:
        print(_json([s.as_json() for s in scores]))
        return EXIT_OK
    if not scores:
        print("no answers in scope")
        return EXIT_OK
    _print_scorecard(scores)
    if args.run:
        cli_suite.print_by_expect(scores)
    if args.constraints != DEFAULT_READING and not any(s.constraint_reading for s in scores):
        print("\nno automatic constraint check in scope: --constraints applies with --rater auto")
    return EXIT_OK


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.0f}%"


def _violated(s: Any) -> str:
    """The violation rate, naming the reading of the automatic checks it counts, if any."""
    reading = {"official": " (IFBench)", "desk": " (desk's reading)"}.get(s.constraint_reading or "", "")
    return _pct(s.constraint_violation_rate) + reading


def _print_scorecard(scores: list[Any]) -> None:
    rows = [("model", "rated", "success (95% CI)", "clarifying", "fabricated", "violated",
             "quality", "p95 total", "$/success (95% CI)", "win rate (95% CI)", "warnings")]

    def usd(v: float) -> str:
        return "inf" if v == float("inf") else f"${v:.6f}"  # unbounded: too few successes

    for s in scores:
        success = _pct(s.success_rate)
        if s.success_ci:
            success += f" ({_pct(s.success_ci[0])}-{_pct(s.success_ci[1])})"
        per_success = "-" if s.cost_per_success_usd is None else usd(s.cost_per_success_usd)
        if s.cost_per_success_usd is not None and s.cost_per_success_ci:
            per_success += f" ({usd(s.cost_per_success_ci[0])}-{usd(s.cost_per_success_ci[1])})"
        wins = _pct(s.pairwise_win_rate)
        if s.pairwise_win_ci:
            wins += f" ({_pct(s.pairwise_win_ci[0])}-{_pct(s.pairwise_win_ci[1])}, n={s.pairwise_games})"
        rows.append((
            s.model, str(s.n_rated), success, _pct(s.clarifying_rate), _pct(s.fabrication_rate),
            _violated(s), "-" if s.mean_quality is None else f"{s.mean_quality:.2f}",
            _fmt_ms(s.p95_total_ms), per_success, wins,
            "too few samples" if s.warnings else "",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths).rstrip())
    warned = [s for s in scores if s.warnings]
    if warned:
        print()
        for s in warned:
            for warning in s.warnings:
                print(f"{s.model}: {warning}")


def _export(args: argparse.Namespace, store: Any) -> int:
    from desk.engine.export import ExportError, export_file

    if args.run:
        return cli_load.export_run(args, store, CliError)
    filters = _filters(args, store)
    to_stdout = args.out == "-"
    if to_stdout and args.format == "parquet":
        raise CliError("Parquet is written to a file: give --out FILE")
    try:
        result = export_file(store, args.format, sys.stdout if to_stdout else args.out, filters,
                             excel_bom=not args.no_bom)
    except ExportError as exc:
        raise CliError(str(exc)) from None
    what = "preference pairs" if args.format == "pairs" else "rated answers"
    summary = f"exported {result.rows} {what} to {'stdout' if to_stdout else args.out}"
    print(summary, file=sys.stderr if to_stdout else sys.stdout)
    for reason, n in result.skipped.items():
        print(f"desk: skipped {n} preference(s): {reason}", file=sys.stderr)
    return EXIT_OK


def _merge(args: argparse.Namespace, store: Any) -> int:
    report = store.merge_from(args.other)
    if args.json:
        print(_json({"source": args.other, "added": report.added, "total": report.total,
                     "conflicts": report.conflicts, "not_added": report.not_added}))
        return EXIT_OK
    print(f"merged {args.other}: {report.total} row(s) added")
    width = max(len(table) for table in report.added)
    for table, n in report.added.items():
        print(f"  {table:<{width}}  {n}")
    if report.conflicts:
        print(f"{len(report.conflicts)} conflict(s), this store's version kept:")
        for line in report.conflicts:
            print(f"  {line}")
    if report.not_added:
        print("configuration in the other store, never merged (add what you trust by hand):")
        for line in report.not_added:
            print(f"  {line}")
    return EXIT_OK


def _rubric_show(args: argparse.Namespace, store: Any) -> int:
    from desk.engine.export import rubric_json

    rubric = _with_engine(store, lambda engine: engine.rubric())
    if args.json:
        print(_json(rubric_json(rubric)))
        return EXIT_OK
    print(f"rubric {rubric.name} version {rubric.version}")
    for c in rubric.criteria:
        need = "" if c.required else ", optional"
        if c.kind == "choice":
            print(f"{c.key} ({c.label}{need}): {' | '.join(c.option_keys())}")
        elif c.kind == "scale":
            print(f"{c.key} ({c.label}{need}): {c.low}-{c.high}")
        else:
            print(f"{c.key} ({c.label}{need}): {c.kind}")
    return EXIT_OK


# --- helpers ------------------------------------------------------------------------------


def _ref(text: str) -> ModelRef:
    try:
        return ModelRef.parse(text)
    except ModelRefError as exc:
        raise CliError(str(exc)) from None


def _run(coro: Any) -> Any:
    from desk.engine.aio import run

    return run(coro)


def _load(args: argparse.Namespace, store: Any) -> int:
    return cli_load.run(args, store, _ref, _run, CliError)


def _local(args: argparse.Namespace, store: Any) -> int:
    from desk.engine.session import Engine

    engine = Engine(store)
    if args.action == "serve":
        return cli_local.serve(args, engine, _run, CliError)
    return cli_local.status(args, engine, _run)


def _suite(args: argparse.Namespace, store: Any) -> int:
    helpers = cli_suite.CliHelpers(ref=_ref, run=_run, error=CliError, response_json=response_json, json=_json)
    return cli_suite.run(args, store, helpers)


def _prices_info(args: argparse.Namespace, store: Any) -> int:
    from desk.engine.price_data import current_info, load_cached

    load_cached()
    info = current_info()
    if args.json:
        print(json.dumps({"source": info.source, "description": info.description,
                          "fetched_at": info.fetched_at, "newest_price_change": info.newest_change,
                          "vendors": info.providers,
                          "your_prices": len(store.list_prices())}))
    else:
        print(f"{info.description}; {len(store.list_prices())} price(s) of your own, which win")
    return EXIT_OK


def _prices_update(args: argparse.Namespace, store: Any) -> int:
    from desk.engine.price_data import DEFAULT_URL, PriceDataError, update
    from desk.providers.http import make_client

    async def go() -> Any:
        async with make_client() as client:
            return await update(client, args.url or DEFAULT_URL)

    try:
        info = _run(go())
    except PriceDataError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None
    print(f"updated: {info.description}")
    return EXIT_OK


def _prices_import(args: argparse.Namespace, store: Any) -> int:
    from desk.engine.price_data import PriceDataError, read_price_csv

    try:
        rows = read_price_csv(args.file)
    except PriceDataError as exc:
        raise CliError(str(exc)) from None
    unknown = sorted({ref.provider for ref, _ in rows if store.get_provider(ref.provider) is None})
    if unknown:
        raise CliError(f"unknown provider(s) {', '.join(unknown)} in {args.file}; add them first (nothing imported)")
    for ref, price in rows:
        store.set_price(ref.provider, ref.model, price)
    print(f"imported {len(rows)} price(s) from {args.file}; they win over the catalog")
    return EXIT_OK


_HANDLERS = {
    ("prices", "info"): _prices_info,
    ("prices", "update"): _prices_update,
    ("prices", "import"): _prices_import,
    ("load", None): _load,
    ("runs", None): _runs,
    ("local", "serve"): _local,
    ("local", "status"): _local,
    **{("suite", action): _suite for action in ("import", "list", "export", "from-trials", "run", "runs",
                                                          "disagreements")},
    ("provider", "add"): _provider_add,
    ("provider", "list"): _provider_list,
    ("provider", "remove"): _provider_remove,
    ("provider", "set-key"): _provider_set_key,
    ("provider", "models"): _provider_models,
    ("provider", "test"): _provider_test,
    ("provider", "discover"): _provider_discover,
    ("price", "set"): _price_set,
    ("price", "list"): _price_list,
    ("price", "delete"): _price_delete,
    ("trial", None): _trial,
    ("history", None): _history,
    ("show", None): _show,
    ("rate", None): _rate,
    ("prefer", None): _prefer,
    ("scorecard", None): _scorecard,
    ("export", None): _export,
    ("merge", None): _merge,
    ("rubric", "show"): _rubric_show,
}
