"""A run's Scorecard… dialog reads everything it shows at once (desk.engine.run_scoring
RunScoring.reading: the run and its ratings read once, on a worker for a big run): what it
gives is what the service's separate reads give, on runs with tool cases, resends,
failures, several raters, automatic checks and a judge, and off the GUI thread on a worker's
own connection."""

from __future__ import annotations

import asyncio
import random

from desk.engine.jobs import Job
from desk.engine.session import Engine
from tests.engine.test_run_readers_light import MODELS, _answered_run, _suite


def _scores(scores):
    return [s.as_json() for s in scores]


def test_the_dialogs_one_reading_is_the_services_separate_reads(tmp_path):
    from desk.store import open_store

    store = open_store(tmp_path / "runs.db")
    try:
        suite = store.suites.save_suite(_suite(with_tools=True))
        rng = random.Random(4)
        run_ids = [_answered_run(store, suite, rng, prefix) for prefix in ("r", "s")]
        engine = Engine(store, warm_prices=False)
        suites = engine.suites
        for run_id in run_ids:
            for pair in ((MODELS[0], MODELS[1]), (MODELS[2], MODELS[0])):
                reading = suites.run_reading(run_id, pair)
                assert reading.info == suites.run_info(run_id) and reading.pair == pair
                assert _scores(reading.scores) == _scores(suites.scorecard(run_id))
                assert reading.comparison == suites.compare_models(run_id, *pair) and reading.refused is None
                assert reading.disagreements == suites.disagreements(run_id) and reading.disagreements
                assert reading.tool_use == suites.tool_use(run_id) and reading.tool_use
            assert suites.run_reading(run_id).comparison is None  # no pair asked for
            refused = suites.run_reading(run_id, (MODELS[0], "m/none"))
            assert refused.comparison is None and "m/none is not a model of run" in (refused.refused or "")

            # On a worker's own connection, as a big run's dialog reads it: the same.
            behind = asyncio.run(suites.run_reading_in_background(Job("test"), run_id, (MODELS[0], MODELS[1])))
            here = suites.run_reading(run_id, (MODELS[0], MODELS[1]))
            assert _scores(behind.scores) == _scores(here.scores)
            assert (behind.comparison, behind.disagreements, behind.tool_use) == (
                here.comparison, here.disagreements, here.tool_use)
            other = asyncio.run(suites.compare_in_background(Job("test"), run_id, MODELS[1], MODELS[2]))
            assert other == suites.compare_models(run_id, MODELS[1], MODELS[2])
    finally:
        store.close()
