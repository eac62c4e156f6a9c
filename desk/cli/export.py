"""`desk export`: rated answers for analysis or preference tuning, or one run's requests."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from desk.cli import load as cli_load
from desk.cli.common import (
    EXIT_OK,
    CliError,
    _filter_arguments,
    _filters,
)

if TYPE_CHECKING:
    from desk.store.db import Store


EXPORT_FORMATS = ("csv", "jsonl", "pairs", "parquet")  # desk.engine.export.FORMATS, not imported at start-up


def register(sub: Any, db: argparse.ArgumentParser) -> None:
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
    export.set_defaults(handler=_export)


def _export(args: argparse.Namespace, store: Store) -> int:
    from desk.engine.export import ExportError, export_file

    if args.run:
        return cli_load.export_run(args, store)
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

