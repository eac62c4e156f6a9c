"""`desk history` (past trials) and `desk runs` (load and suite runs)."""

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
    hist = sub.add_parser("history", parents=[db], help="list past trials, newest first")
    hist.add_argument("--search", metavar="TEXT")
    hist.add_argument("--limit", type=int, default=20)
    hist.add_argument("--json", action="store_true")

    runs = sub.add_parser("runs", parents=[db], help="list load, suite and judge runs, newest first (ids for export --run)")
    runs.add_argument("--kind", choices=("load", "suite", "judge"), help="only runs of this kind")
    runs.add_argument("--limit", type=int, default=20)
    runs.add_argument("--json", action="store_true", help="one JSON object per run")
    hist.set_defaults(handler=_history)
    runs.set_defaults(handler=_runs)


def _history(args: argparse.Namespace, app: Application) -> int:
    from desk.core.trial import history_models, history_title, history_turns

    for t in _with_engine(app, lambda engine: engine.trials.history.list(args.search, args.limit)):
        if args.json:
            print(_json({"trial_id": t.id, "created_at": t.created_at, "prompt": t.prompt_preview,
                         "models": t.models, "n_responses": t.n_responses}))
        else:
            # The window's history entry: the first line cut at a word, then the models
            models = history_models(t.models)
            print(f"{t.id}  {_when(t.created_at)}  {history_title(t.prompt_preview)}{' · ' + models if models else ''}"
                  f"{history_turns(t.turns)}")
    return EXIT_OK


def _runs(args: argparse.Namespace, app: Application) -> int:
    """Every kind of run in one list: its id is what `desk export --run` takes."""
    found = _with_engine(app, lambda engine: engine.loads.runs.list(args.kind, args.limit))
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

