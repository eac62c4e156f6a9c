"""A model with a single answer in scope is grouped like any other (by_model gathers each
model's answers from the columns; one index is a case of its own), issue 21."""

from desk.core.response import ResponseFigures, Status
from desk.engine.scorecard_columns import by_model


def test_a_model_with_one_answer_gets_a_column_of_one():
    answers = [ResponseFigures("r1", "t", "m/b", Status.OK, 10.0, 0.5, False),
               ResponseFigures("r2", "t", "m/a", Status.ERROR, None, None, True),
               ResponseFigures("r3", "t", "m/b", Status.OK, 12.0, None, False)]
    columns = by_model(answers)
    assert list(columns) == ["m/a", "m/b"]
    lone = columns["m/a"]
    assert (lone.ids, lone.statuses, lone.totals_ms, lone.costs, lone.failed) == (
        ["r2"], [Status.ERROR], [None], [None], [True])
    pair = columns["m/b"]
    assert (pair.ids, pair.totals_ms, pair.costs) == (["r1", "r3"], [10.0, 12.0], [0.5, None])


def test_ascending_is_sorted_to_the_object():
    import math
    import random

    from desk.engine.scorecard_columns import ascending
    rng = random.Random(3)
    floats = [rng.choice((0.0, -0.0, 1.5, 2.25, rng.random() * 1e4)) for _ in range(500)]
    got = ascending(floats)
    assert got == sorted(floats)
    assert [math.copysign(1, v) for v in got] == [math.copysign(1, v) for v in sorted(floats)]  # -0.0 where sorted puts it
    mixed = [*floats[:100], 7, 3]  # ints keep their type, as sorted() keeps them
    assert [type(v) for v in ascending(mixed)] == [type(v) for v in sorted(mixed)]
    with_nan = [*floats[:100], math.nan, *floats[100:200]]
    assert [repr(v) for v in ascending(with_nan)] == [repr(v) for v in sorted(with_nan)]
