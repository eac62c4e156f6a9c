"""`desk merge`: another store's trials and ratings added to this one."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from desk.cli.common import (
    EXIT_OK,
    _json,
    _with_engine,
)

if TYPE_CHECKING:
    from desk.engine.application import Application


def register(sub: Any, db: argparse.ArgumentParser) -> None:
    merge = sub.add_parser("merge", parents=[db], help="add another desk store's trials and ratings to this one")
    merge.add_argument("other", metavar="OTHER.db")
    merge.add_argument("--json", action="store_true")
    merge.set_defaults(handler=_merge)


def _merge(args: argparse.Namespace, app: Application) -> int:
    report = _with_engine(app, lambda engine: engine.exports.merge(args.other))
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

