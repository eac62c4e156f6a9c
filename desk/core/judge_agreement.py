"""How far a judge model agrees with people, per criterion (issue 14: agreement before trust).

On the answers both a person and the judge rated: the share of agreement, Cohen's kappa
with a percentile-bootstrap interval (answers resampled), the confusion matrix and n.
Beside it, where two people rated the same answers, their kappa: the ceiling a judge can
reach. Where several people rated an answer, the judge is compared with the first person
who rated it (a fixed, reproducible choice), and two people's kappa uses its first two.

A judge is calibrated for a criterion only with at least MIN_SHARED shared answers and the
lower end of kappa's interval at or above the threshold the user sets (default 0.6).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from desk.core.judge import is_judge, is_machine, judged_criteria
from desk.core.rating import Rating
from desk.core.rubric import Rubric
from desk.core.statistics import bootstrap_interval, cohen_kappa

MIN_SHARED = 30
DEFAULT_THRESHOLD = 0.6
N_RESAMPLES = 2000


@dataclass(frozen=True)
class CriterionAgreement:
    judge: str
    criterion: str
    n: int  # answers both a person and the judge gave this criterion
    agreement: float | None  # share of those where they gave the same value
    kappa: float | None
    kappa_low: float | None  # 95% percentile-bootstrap interval of kappa
    kappa_high: float | None
    labels: tuple[Any, ...]  # the confusion matrix's rows (person) and columns (judge), in order
    confusion: tuple[tuple[int, ...], ...]
    human_n: int  # answers two people gave this criterion
    human_kappa: float | None
    calibrated: bool


@dataclass(frozen=True)
class AgreementReport:
    threshold: float
    min_shared: int
    rows: tuple[CriterionAgreement, ...]

    def as_json(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "min_shared": self.min_shared,
                "criteria": [{**asdict(r), "labels": list(r.labels),
                              "confusion": [list(x) for x in r.confusion]} for r in self.rows]}


def kappa_interval(a: Sequence[Hashable], b: Sequence[Hashable], *, seed: int = 0,
                   n_resamples: int = N_RESAMPLES) -> tuple[float, float] | None:
    """A 95% percentile-bootstrap interval of Cohen's kappa, resampling the rated items."""
    pairs = list(zip(a, b, strict=True))

    def kappa_of(rows: Sequence[float]) -> float | None:
        picked = [pairs[int(i)] for i in rows]
        return cohen_kappa([x for x, _ in picked], [y for _, y in picked])

    return bootstrap_interval([float(i) for i in range(len(pairs))], kappa_of,
                              n_resamples=n_resamples, seed=seed)


def confusion_matrix(a: Sequence[Hashable], b: Sequence[Hashable],
                     labels: Sequence[Hashable]) -> tuple[tuple[int, ...], ...]:
    """Counts of (a's label, b's label): row i is a == labels[i], column j is b == labels[j]."""
    index = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for x, y in zip(a, b, strict=True):
        counts[index[x]][index[y]] += 1
    return tuple(tuple(row) for row in counts)


def criterion_agreement(judge: str, criterion: str, people: Sequence[Any], verdicts: Sequence[Any],
                        human_pairs: tuple[Sequence[Any], Sequence[Any]], *, threshold: float,
                        seed: int = 0) -> CriterionAgreement:
    """One row of the report from the person's and the judge's values of the shared answers."""
    n = len(people)
    labels = tuple(sorted({*people, *verdicts}, key=lambda v: (str(type(v)), v)))
    kappa = cohen_kappa(people, verdicts) if n else None
    interval = kappa_interval(people, verdicts, seed=seed) if n >= 2 else None
    first, second = human_pairs
    return CriterionAgreement(
        judge=judge, criterion=criterion, n=n,
        agreement=sum(x == y for x, y in zip(people, verdicts, strict=True)) / n if n else None,
        kappa=kappa, kappa_low=interval[0] if interval else None, kappa_high=interval[1] if interval else None,
        labels=labels, confusion=confusion_matrix(people, verdicts, labels),
        human_n=len(first), human_kappa=cohen_kappa(first, second) if first else None,
        calibrated=n >= MIN_SHARED and interval is not None and interval[0] >= threshold,
    )


def agreement_report(ratings: Sequence[Rating], rubric: Rubric, *, threshold: float = DEFAULT_THRESHOLD,
                     seed: int = 0) -> AgreementReport:
    """Every judge's agreement with people on each criterion it gives, from current ratings."""
    people: dict[str, list[Rating]] = {}
    judges: dict[str, dict[str, Rating]] = {}
    for r in sorted(ratings, key=lambda r: (r.created_at, r.id)):
        if is_judge(r.rater):
            judges.setdefault(r.rater, {})[r.response_id] = r
        elif not is_machine(r.rater):
            people.setdefault(r.response_id, []).append(r)
    rows: list[CriterionAgreement] = []
    for c in judged_criteria(rubric):
        pairs = [(rs[0].values.get(c.key), rs[1].values.get(c.key)) for rs in people.values() if len(rs) >= 2]
        pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
        human = ([x for x, _ in pairs], [y for _, y in pairs])
        for judge in sorted(judges):
            shared = [(people[rid][0].values.get(c.key), v.values.get(c.key))
                      for rid, v in judges[judge].items() if rid in people]
            shared = [(x, y) for x, y in shared if x is not None and y is not None]
            rows.append(criterion_agreement(judge, c.key, [x for x, _ in shared], [y for _, y in shared],
                                            human, threshold=threshold, seed=seed))
    return AgreementReport(threshold, MIN_SHARED, tuple(rows))
