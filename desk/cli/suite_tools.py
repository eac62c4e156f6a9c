"""`desk suite tool-use RUN_ID`: per model, how it used the tools of the run's tool cases."""

from __future__ import annotations

import argparse
import dataclasses
from typing import TYPE_CHECKING, Any

from desk.cli.common import _json, _with_engine
from desk.core.tool_expect import MEASURES

if TYPE_CHECKING:
    from desk.engine.application import Application


def register(ssub: Any, db: argparse.ArgumentParser) -> None:
    use = ssub.add_parser("tool-use", parents=[db],
                          help="per model: called when it should, valid arguments, expected call matched")
    use.add_argument("run_id", metavar="RUN_ID")
    use.add_argument("--json", action="store_true", help="one JSON object per model")
    use.set_defaults(handler=_tool_use)


def _tool_use(args: argparse.Namespace, app: Application) -> int:
    scores = _with_engine(app, lambda e: e.suites.tool_use(args.run_id))
    if args.json:
        for s in scores:
            print(_json({"model": s.model, "answers": s.answers,
                         **{m: dataclasses.asdict(r) for m, r in s.rates.items()}}))
        return 0
    for s in scores:
        print(f"{s.model}  ({s.answers} answers to tool cases)")
        for measure, rate in s.rates.items():
            if not rate.n:
                print(f"  {measure:<17} -  (no answer it applies to)")
                continue
            interval = f"[{rate.low:.0%}, {rate.high:.0%}]" if rate.low is not None and rate.high is not None else ""
            print(f"  {measure:<17} {rate.passed}/{rate.n} {rate.passed / rate.n:.0%} {interval}  {MEASURES[measure]}")
            for rid in rate.failed:
                print(f"      failed: response {rid}")
    return 0
