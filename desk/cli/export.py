"""`desk export`: rated answers for analysis or preference tuning, or one run's requests."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from desk.cli.common import (
    EXIT_OK,
    CliError,
    _filter_arguments,
    _filters,
    _with_engine,
)

if TYPE_CHECKING:
    from desk.engine.application import Application
    from desk.engine.export_files import ExportResult
    from desk.engine.session import Engine


EXPORT_FORMATS = ("csv", "jsonl", "pairs", "parquet")  # desk.engine.export.FORMATS, not imported at start-up
RUN_EXPORT_FORMATS = ("csv", "jsonl", "parquet")  # desk.engine.export_runs.RUN_ATTEMPT_FORMATS
RUN_EXPORT_HELP = ("one line per HTTP request (retries included) of that run, load or suite: timestamps, "
                   "status, vendor request id, rate-limit headers (instead of rated answers)")


def register(sub: Any, db: argparse.ArgumentParser) -> None:
    export = sub.add_parser(
        "export", parents=[db], help="write rated answers for analysis or preference tuning",
        description="csv/parquet: one row per rated answer (per rater); jsonl: the same, nested; "
                    "pairs: prompt/chosen/rejected per preference with a winner (ties and "
                    "'both bad' are skipped).",
    )
    export.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    export.add_argument("--out", "-o", required=True, metavar="FILE", help="'-' for stdout (not parquet)")
    export.add_argument("--run", metavar="RUN_ID", help=RUN_EXPORT_HELP)
    export.add_argument("--no-bom", action="store_true",
                        help="CSV: no UTF-8 byte order mark (by default a CSV file starts with one, so Excel "
                             "reads it as UTF-8; stdout never gets one)")
    _filter_arguments(export)
    export.set_defaults(handler=_export)


def _export(args: argparse.Namespace, app: Application) -> int:
    from desk.engine.export_files import ExportError
    from desk.engine.services.exports import ExportParams

    if args.run:
        return _export_run(args, app)
    to_stdout = args.out == "-"

    def export(engine: Engine) -> ExportResult:
        filters = _filters(args, engine)
        if to_stdout and args.format == "parquet":
            raise CliError("Parquet is written to a file: give --out FILE")
        params = ExportParams(args.format, sys.stdout if to_stdout else args.out, filters, excel_bom=not args.no_bom)
        return engine.exports.export(params)

    try:
        result = _with_engine(app, export)
    except ExportError as exc:
        raise CliError(str(exc)) from None
    what = "preference pairs" if args.format == "pairs" else "rated answers"
    summary = f"exported {result.rows} {what} to {'stdout' if to_stdout else args.out}"
    print(summary, file=sys.stderr if to_stdout else sys.stdout)
    for reason, n in result.skipped.items():
        print(f"desk: skipped {n} preference(s): {reason}", file=sys.stderr)
    return EXIT_OK



def _export_run(args: argparse.Namespace, app: Application) -> int:
    """`desk export --run RUN_ID --format csv|jsonl|parquet --out FILE`: one line per HTTP
    request of the run (see desk.engine.export_runs.export_run_attempts)."""
    from desk.engine.export_files import ExportError
    from desk.engine.services.exports import RunExportParams

    if args.format not in RUN_EXPORT_FORMATS:
        raise CliError(f"--run writes {', '.join(RUN_EXPORT_FORMATS)} (one line per HTTP request), "
                       f"not {args.format}")
    narrowed = [flag for flag, value in (("--tag", args.tag), ("--rater", args.rater), ("--since", args.since),
                                         ("--until", args.until), ("--trial", args.trial)) if value]
    if narrowed:
        raise CliError(f"--run exports a whole run; {', '.join(narrowed)} only narrow rated answers")
    to_stdout = args.out == "-"
    if to_stdout and args.format == "parquet":
        raise CliError("Parquet is written to a file: give --out FILE")
    params = RunExportParams(args.run, args.format, sys.stdout if to_stdout else args.out,
                             per_http_request=True, excel_bom=not args.no_bom)
    try:
        result = _with_engine(app, lambda engine: engine.exports.export_run(params))
    except ExportError as exc:
        raise CliError(str(exc)) from None
    print(f"exported {result.rows} HTTP requests of run {args.run} to {'stdout' if to_stdout else args.out}",
          file=sys.stderr if to_stdout else sys.stdout)
    return EXIT_OK
