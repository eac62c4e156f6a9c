"""The scorecard's answers and ratings as columns, grouped once for every model.

At 100,000 answers each Python statement run per answer costs milliseconds, and the
scorecard once ran a dozen of them per model (grouping, each rated answer's combined
values, the rated mask, the success flags, the raters). Here the per-answer work is done
by C loops (map, zip, compress, itemgetter, Counter) and numpy; Python code runs only for
the answers several raters rated (a tenth, in a real store), whose values need a majority.
The values are the same objects in the same order as before: every figure is unchanged.
"""

from __future__ import annotations

import operator
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from statistics import mean
from typing import Any, Protocol, cast

from desk.core.gil_slices import mapped, zipped_dict
from desk.core.rating import RatingFigures
from desk.core.response import ResponseFigures

Combined = tuple[Any, Any, Any, Any]  # an answer's outcome, uncertainty, constraints and quality (None: none)
_VALUES = operator.itemgetter(slice(3, 7))  # (outcome, uncertainty, constraints, quality): RatingFigures' order
_FIRST, _SECOND = operator.itemgetter(0), operator.itemgetter(1)
OUTCOME, UNCERTAINTY, CONSTRAINTS, QUALITY = map(operator.itemgetter, range(3, 7))


@dataclass(frozen=True)
class ModelAnswers:
    """One model's answers in scope, a column per field, in the order they came."""

    ids: list[str]
    statuses: list[Any]
    totals_ms: list[float | None]
    costs: list[float | None]
    failed: list[bool]


def by_model(responses: Sequence[ResponseFigures]) -> dict[str, ModelAnswers]:
    """model -> its answers, in model-name order; each model's in their order in `responses`."""
    import numpy as np  # on first use: the CLI's start does not wait for it (desk.core.statistics)
    if not responses:
        return {}
    ids, _, models, statuses, totals, costs, failed = zip(*responses, strict=True)
    names = sorted(set(models))
    code = dict(zip(names, range(len(names)), strict=True))
    codes = np.fromiter(map(code.__getitem__, models), dtype=np.intp, count=len(models))
    order = np.argsort(codes, kind="stable")  # stable: each model's answers keep their order
    ends = np.cumsum(np.bincount(codes, minlength=len(names))).tolist()
    columns = (ids, statuses, totals, costs, failed)
    out = {}
    for name, start, end in zip(names, [0, *ends[:-1]], ends, strict=True):
        chosen = order[start:end].tolist()
        if len(chosen) == 1:  # itemgetter of one index gives the item, not a tuple
            out[name] = ModelAnswers(*([column[chosen[0]]] for column in columns))
        else:  # a C gather from the tuples: no object arrays made and unmade
            pick = operator.itemgetter(*chosen)
            out[name] = ModelAnswers(*(list(pick(column)) for column in columns))
    return out


class RatedAnswers:
    """Each rated answer's combined values (`combined` below) as a row whose outcome,
    uncertainty, constraints and quality sit where a RatingFigures holds them (an answer
    rated once: its rating), the ratings of the answers rated several times, and each
    model's raters."""

    def __init__(self, ratings: Sequence[RatingFigures], model_of: dict[str, str]) -> None:
        ids = mapped(_FIRST, ratings)  # (a slice at a time: desk.core.gil_slices)
        self.row: dict[str, tuple[Any, ...]] = zipped_dict(ids, ratings)
        several: defaultdict[str, list[RatingFigures]] = defaultdict(list)
        if len(self.row) < len(ids):  # some answer has several ratings: each but its last is not in `row`
            many = set(compress(ids, map(operator.is_not, map(self.row.__getitem__, ids), ratings)))
            if len(ids) - len(self.row) + len(many) != sum(map(many.__contains__, ids)):  # one row listed twice
                times = Counter(ids)
                many = {response_id for response_id, n in times.items() if n > 1}
            for rating in compress(ratings, map(many.__contains__, ids)):
                several[rating.response_id].append(rating)
            for response_id, rs in several.items():
                self.row[response_id] = (None, None, None, *combined(rs))
        self.several: dict[str, list[RatingFigures]] = dict(several)
        self._ratings, self._ids, self._model_of = ratings, ids, model_of
        self._everyone = sorted(set(map(_SECOND, ratings)))
        self._raters: dict[str, list[str]] | None = None

    def raters(self, model: str, several: Sequence[Sequence[RatingFigures]]) -> list[str]:
        """Who rated `model`'s answers, sorted, given `several` (its answers rated several
        times): when those name every rater of any answer, no other pass is needed."""
        if {x.rater for rs in several for x in rs} == set(self._everyone):
            return self._everyone
        if self._raters is None:
            raters: defaultdict[str, set[str]] = defaultdict(set)
            for owner, rater in set(zip(map(self._model_of.get, self._ids), map(_SECOND, self._ratings),
                                        strict=True)):
                if owner is not None:  # a rating of an answer out of scope counts nowhere
                    raters[owner].add(rater)
            self._raters = {name: sorted(names) for name, names in raters.items()}
        return self._raters.get(model, [])


def combined(rs: Sequence[RatingFigures]) -> Combined:
    """An answer's outcome, uncertainty and constraints (by majority) and its mean quality
    when it has one; one or two raters' values are taken without building the lists a
    majority reads."""
    if len(rs) == 1:
        return _VALUES(rs[0])
    if len(rs) == 2:  # as majority of two: the later rating's values (the first's on a tie of times)
        first, second = rs
        later = second if second.created_at > first.created_at else first
        q0, q1 = first.quality, second.quality
        if type(q0) is int and type(q1) is int:  # two whole scores: their mean as mean_quality gives it
            quality: Any = (q0 + q1) // 2 if not (q0 + q1) % 2 else (q0 + q1) / 2
        else:
            quality = mean_quality(rs) if q0 is not None or q1 is not None else None
        return later.outcome, later.uncertainty, later.constraints, quality
    return (majority([(x.created_at, x.outcome) for x in rs]),
            majority([(x.created_at, x.uncertainty) for x in rs]),
            majority([(x.created_at, x.constraints) for x in rs]),
            mean_quality(rs) if any(x.quality is not None for x in rs) else None)


def majority(values: list[tuple[float, Any]]) -> Any:
    """Most common value; ties go to the most recent. `values` holds (created_at, value)."""
    if len(values) == 1:  # one rater, the usual case
        return values[0][1]
    if len(values) == 2:  # two raters: agreeing or not, the most recent (the first on a tie of times)
        (t0, v0), (t1, v1) = values
        return v1 if t1 > t0 else v0
    counts = Counter(v for _, v in values)
    top = max(counts.values())
    for _, value in sorted(values, key=lambda cv: cv[0], reverse=True):
        if counts[value] == top:
            return value
    return None


class _Scored(Protocol):
    @property
    def quality(self) -> int | float | None: ...


def mean_quality(ratings: Sequence[_Scored]) -> float:
    """The mean of the raters' quality scores, exactly as statistics.mean gives it (an int
    when whole), without its exact-fraction arithmetic."""
    scores = [x.quality for x in ratings if x.quality is not None]
    if all(type(q) is int for q in scores):  # an int sum is exact, its division correctly rounded
        whole, rest = divmod(sum(scores), len(scores))
        return whole if not rest else sum(scores) / len(scores)
    return mean(scores)


def ascending(values: list[Any]) -> list[Any]:
    """sorted(values): by numpy's stable sort when they are many floats and none is NaN
    (the store's are: a REAL column holds no NaN), which orders equal values as sorted()
    does and is several times faster than comparing Python floats."""
    if len(values) < 64 or set(map(type, values)) != {float}:
        return sorted(values)
    import numpy as np  # on first use: see desk.core.statistics
    data = np.array(values, dtype=float)
    if np.isnan(data).any():  # sorted() leaves NaN where its comparisons do: not numpy's order
        return sorted(values)
    return cast("list[Any]", np.sort(data, kind="stable").tolist())


def present(values: Iterable[Any]) -> list[Any]:
    """The values that are not None, in order."""
    kept = list(values)
    return list(compress(kept, map(operator.is_not, kept, repeat(None))))
