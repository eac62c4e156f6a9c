"""`desk rate` (one answer) and `desk prefer` (which of two answers is better)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from desk.cli.common import (
    EXIT_OK,
    CliError,
    _choice,
    _json,
    _with_engine,
)
from desk.core.records import pick, preference_fields
from desk.core.response import ResponseResult
from desk.core.rubric import CONSTRAINTS, DEFAULT_RUBRIC, OUTCOMES, UNCERTAINTY, WINNERS

if TYPE_CHECKING:
    from desk.core.rating import Preference, Rating
    from desk.core.rubric import Rubric
    from desk.engine.application import Application
    from desk.engine.session import Engine


# `desk prefer --json`: these fields of the preference, then its trial and the one it replaces.
PREFERENCE_JSON_KEYS = ("id", "response_a", "response_b", "winner", "rater", "origin", "reason", "created_at")


def register(sub: Any, db: argparse.ArgumentParser) -> None:
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
    rate.set_defaults(handler=_rate)
    prefer.set_defaults(handler=_prefer)


def _rater(args: argparse.Namespace, engine: Engine) -> str:
    name = " ".join((args.rater or "").split()) or engine.rater_name()
    if not name:
        raise CliError("say who is rating with --rater NAME (no rater name is set)")
    return name


def _response(engine: Engine, response_id: str) -> ResponseResult:
    found = engine.trials.responses.get(response_id)
    if found is None:
        raise CliError(f"no response {response_id!r}")
    return found


def _rate(args: argparse.Namespace, app: Application) -> int:
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

    def save(engine: Engine) -> tuple[Rating, Rubric]:
        rater = _rater(args, engine)
        _response(engine, args.response_id)
        rubric = engine.ratings.rubrics.default()
        for item in args.value:
            key, value = _extra_value(rubric, item)
            if key in values:
                raise CliError(f"--value {key}: use its own option (--{'tag' if key == 'tags' else key})")
            values[key] = value
        return engine.ratings.save_rating(args.response_id, values, rater=rater), rubric

    rating, rubric = _with_engine(app, save)
    if args.json:
        print(_json(rating_json(rating, rubric)))
    else:
        print(rating.id + (f" (replaces {rating.supersedes})" if rating.supersedes else ""))
    return EXIT_OK


def _extra_value(rubric: Rubric, item: str) -> tuple[str, Any]:
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


def _prefer(args: argparse.Namespace, app: Application) -> int:
    winner = _choice("--winner", args.winner, WINNERS)

    def save(engine: Engine) -> tuple[Preference, list[str], str]:
        rater = _rater(args, engine)
        a, b = _response(engine, args.response_a), _response(engine, args.response_b)
        earlier = [p.id for p in engine.ratings.saved.current_preferences(rater, trial_id=a.trial_id)
                   if {p.response_a, p.response_b} == {a.id, b.id}]
        pref = engine.ratings.save_preference(a.id, b.id, winner, reason=args.reason, rater=rater)
        return pref, earlier, a.trial_id

    pref, earlier, trial_id = _with_engine(app, save)
    if args.json:
        print(_json({**pick(preference_fields(pref), PREFERENCE_JSON_KEYS), "trial_id": trial_id,
                     "supersedes": earlier[-1] if earlier else None}))
    else:
        print(pref.id + (f" (replaces {earlier[-1]})" if earlier else ""))
    return EXIT_OK

