"""`desk price` (your own prices) and `desk prices` (the price data in use)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from desk.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    _ref,
    _run,
    _with_engine,
)
from desk.core.pricing import Price

if TYPE_CHECKING:
    from desk.engine.application import Application
    from desk.engine.session import Engine


def register(sub: Any, db: argparse.ArgumentParser) -> None:
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
    pset.set_defaults(handler=_price_set)
    plist.set_defaults(handler=_price_list)
    pdel.set_defaults(handler=_price_delete)
    pinfo.set_defaults(handler=_prices_info)
    pupd.set_defaults(handler=_prices_update)
    pimp.set_defaults(handler=_prices_import)


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("prices cannot be negative")
    return value


def _price_set(args: argparse.Namespace, app: Application) -> int:
    ref = _ref(args.model)
    price = Price(args.input, args.output, args.cached_input)

    def save(engine: Engine) -> None:
        if engine.providers.configs.get(ref.provider) is None:
            raise CliError(f"unknown provider {ref.provider!r}; add it first with 'desk provider add'")
        engine.providers.set_price(ref, price)

    _with_engine(app, save)
    cached = f", cached input ${args.cached_input:g}" if args.cached_input is not None else ""
    print(f"{ref}: input ${args.input:g}, output ${args.output:g}{cached} per million tokens")
    return EXIT_OK


def _price_list(args: argparse.Namespace, app: Application) -> int:
    for ref, price in _with_engine(app, lambda engine: engine.providers.own_prices()):
        provider, model = ref.provider, ref.model
        if args.json:
            print(json.dumps({"model": f"{provider}/{model}", "input": price.input_per_mtok,
                              "output": price.output_per_mtok,
                              "cached_input": price.cached_input_per_mtok}))
        else:
            cached = "" if price.cached_input_per_mtok is None else f"  cached {price.cached_input_per_mtok:g}"
            print(f"{provider}/{model:<40} in {price.input_per_mtok:g}  out {price.output_per_mtok:g}{cached}")
    return EXIT_OK


def _price_delete(args: argparse.Namespace, app: Application) -> int:
    ref = _ref(args.model)
    if not _with_engine(app, lambda engine: engine.providers.delete_price(ref)):
        raise CliError(f"no price set for {ref}")
    print(f"deleted your price for {ref}")
    return EXIT_OK


def _prices_info(args: argparse.Namespace, app: Application) -> int:
    from desk.engine.price_data import current_info, load_cached

    load_cached()
    info = current_info()
    own = len(_with_engine(app, lambda engine: engine.providers.own_prices()))
    if args.json:
        print(json.dumps({"source": info.source, "description": info.description,
                          "fetched_at": info.fetched_at, "newest_price_change": info.newest_change,
                          "vendors": info.providers,
                          "your_prices": own}))
    else:
        print(f"{info.description}; {own} price(s) of your own, which win")
    return EXIT_OK


def _prices_update(args: argparse.Namespace, app: Application) -> int:
    from desk.engine.session import EngineError

    async def go() -> str:
        async with app.engine() as engine:
            return await engine.providers.update_price_data(args.url)

    try:
        description = _run(go())
    except EngineError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None
    print(f"updated: {description}")
    return EXIT_OK


def _prices_import(args: argparse.Namespace, app: Application) -> int:
    from desk.engine.price_data import PriceDataError, read_price_csv

    try:
        rows = read_price_csv(args.file)
    except PriceDataError as exc:
        raise CliError(str(exc)) from None
    from desk.engine.session import UnknownProviders

    try:
        _with_engine(app, lambda engine: engine.providers.set_prices(rows))
    except UnknownProviders as exc:
        raise CliError(f"unknown provider(s) {', '.join(exc.names)} in {args.file}; add them first "
                       "(nothing imported)") from None
    print(f"imported {len(rows)} price(s) from {args.file}; they win over the catalog")
    return EXIT_OK

