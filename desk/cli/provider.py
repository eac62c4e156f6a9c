"""`desk provider`: add, list, remove, set-key, models, test and discover."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from desk.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    _json,
    _ref,
    _run,
    _with_engine,
)
from desk.core.provider import ProviderConfig, plain_http_warning
from desk.core.response import redact

if TYPE_CHECKING:
    from desk.engine.application import Application
    from desk.engine.session import Engine


class _Kinds:
    """The protocol kinds, as argparse choices, read from their one list (desk.providers.registry,
    through the provider service) only when a `provider add` is parsed or its help shown: that imports httpx, which
    every other command would pay for at start-up."""

    def _kinds(self) -> tuple[str, ...]:
        from desk.engine.services.providers import KINDS

        return KINDS

    def __contains__(self, kind: object) -> bool:
        return kind in self._kinds()

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds())


def register(sub: Any, db: argparse.ArgumentParser) -> None:
    prov = sub.add_parser("provider", parents=[db], help="configure model providers")
    psub = prov.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = psub.add_parser("add", parents=[db], help="add a provider")
    add.add_argument("name")
    # A metavar, and the kinds named in the help (formatted only when shown): without it
    # argparse lists the choices as the flag is added, importing httpx for every command.
    add.add_argument("--kind", required=True, choices=_Kinds(), metavar="KIND", help="wire protocol: %(choices)s")
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
    images = psub.add_parser("images", parents=[db],
                             help="whether a model takes images (a judge is shown a task's images only if so)")
    images.add_argument("model", metavar="PROVIDER/MODEL")
    images.add_argument("takes", nargs="?", choices=("yes", "no", "auto"),
                        help="yes or no; auto: as its model family is known (default: show what desk assumes)")
    images.set_defaults(handler=_provider_images)
    for action, handler in {"add": _provider_add, "list": _provider_list, "remove": _provider_remove,
                            "set-key": _provider_set_key, "models": _provider_models, "test": _provider_test,
                            "discover": _provider_discover}.items():
        psub.choices[action].set_defaults(handler=handler)


def _provider_add(args: argparse.Namespace, app: Application) -> int:
    from desk.engine.services.providers import default_base_url

    config = ProviderConfig(
        name=args.name,
        kind=args.kind,
        base_url=(args.base_url or default_base_url(args.kind)).rstrip("/"),
        key_env=args.key_env,
        api_version=args.api_version,
    )
    key = ""
    if args.key_stdin:  # at a terminal, never echo the key
        key = (getpass.getpass(f"API key for {args.name}: ") if sys.stdin.isatty() else sys.stdin.readline()).strip()
    # The engine's rule: the URL checked, and all or nothing when the keyring cannot keep the key.
    _with_engine(app, lambda engine: engine.providers.save_provider(config, api_key=key or None, new=True))
    warning = plain_http_warning(config.base_url)
    if warning:
        print(f"desk: warning: {warning}", file=sys.stderr)
    print(f"added provider {config.name} ({config.kind}, {config.base_url})")
    return EXIT_OK


def _provider_images(args: argparse.Namespace, app: Application) -> int:
    ref = _ref(args.model)

    async def go() -> tuple[bool | None, str]:
        async with app.engine() as engine:
            if args.takes is not None:
                engine.providers.set_takes_images(ref, {"yes": True, "no": False, "auto": None}[args.takes])
            return await engine.providers.images_support(ref)

    _takes, why = _run(go())
    print(why)
    return EXIT_OK


def _provider_list(args: argparse.Namespace, app: Application) -> int:
    providers = _with_engine(app, lambda engine: engine.providers.configs.all())
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


def _provider_remove(args: argparse.Namespace, app: Application) -> int:
    _with_engine(app, lambda engine: engine.providers.remove_provider(args.name))  # its key forgotten too
    print(f"removed provider {args.name}")
    return EXIT_OK


def _provider_set_key(args: argparse.Namespace, app: Application) -> int:
    def set_key(engine: Engine) -> None:
        if engine.providers.configs.get(args.name) is None:
            raise CliError(f"no provider named {args.name!r}")
        key = getpass.getpass(f"API key for {args.name}: ") if sys.stdin.isatty() else sys.stdin.readline()
        if not key.strip():
            raise CliError("no key given")
        engine.providers.set_provider_key(args.name, key.strip())

    _with_engine(app, set_key)
    print(f"stored the key for {args.name} in the OS keyring")
    return EXIT_OK


def _provider_models(args: argparse.Namespace, app: Application) -> int:
    from desk.engine.services.providers import ProviderError

    async def go() -> list[str]:
        async with app.engine() as engine:
            return await engine.providers.list_models(args.name)

    try:
        names = _run(go())
    except ProviderError as exc:
        raise CliError(f"{args.name}: {exc}", EXIT_FAILED) from None
    for name in names:
        print(json.dumps({"provider": args.name, "model": name}) if args.json else f"{args.name}/{name}")
    return EXIT_OK


def _provider_test(args: argparse.Namespace, app: Application) -> int:
    from desk.engine.services.providers import ProviderError

    async def go() -> float:
        async with app.engine() as engine:
            return await engine.providers.test_provider(args.name)

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


def _provider_discover(args: argparse.Namespace, app: Application) -> int:
    from desk.engine.discover import Found, describe_candidates, discover

    candidates = _discover_candidates(args.port)

    async def go() -> list[tuple[Found, str | None]]:
        found = await discover(candidates=candidates)
        if not args.add:
            return [(f, None) for f in found]
        async with app.engine() as engine:
            return [(f, engine.providers.add_found(f)) for f in found]

    results = _run(go())
    if not results and not args.json:
        print(f"no local model servers found on 127.0.0.1 ({describe_candidates(candidates)})")
    for found, added in results:
        if args.json:
            obj: dict[str, object] = {"name": found.name, "server": found.server, "kind": found.kind,
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

