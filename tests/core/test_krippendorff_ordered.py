"""Ordinal and interval Krippendorff's alpha, held against Krippendorff's published example
and, where installed (the `test` extra), against the `krippendorff` package on random data."""

from __future__ import annotations

import random

import pytest

from desk.core.statistics import krippendorff_alpha_ordered

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C (the data the
# nominal test uses): published ordinal 0.815, interval 0.849.
from tests.core.test_statistics import RELIABILITY_DATA, N


def test_published_example():
    assert krippendorff_alpha_ordered(RELIABILITY_DATA, "ordinal") == pytest.approx(0.815, abs=5e-4)
    assert krippendorff_alpha_ordered(RELIABILITY_DATA, "interval") == pytest.approx(0.849, abs=5e-4)


def test_order_matters_for_ordered_levels():
    # Same nominal disagreement (one pair differs), but 1 vs 5 is worse than 4 vs 5.
    near = [[5, 5], [4, 4], [1, 1], [4, 5]]
    far = [[5, 5], [4, 4], [1, 1], [1, 5]]
    for level in ("ordinal", "interval"):
        a_near, a_far = krippendorff_alpha_ordered(near, level), krippendorff_alpha_ordered(far, level)
        assert a_near is not None and a_far is not None and a_near > a_far


def test_edges():
    assert krippendorff_alpha_ordered([[3, 3], [3, 3, N]], "ordinal") is None  # one value: De = 0
    assert krippendorff_alpha_ordered([[1, N], [N, 2]], "interval") is None  # nothing pairable
    assert krippendorff_alpha_ordered([], "ordinal") is None
    assert krippendorff_alpha_ordered([[1, 1], [2, 2], [5, 5]], "interval") == 1.0
    with pytest.raises(ValueError):
        krippendorff_alpha_ordered([[1, 2]], "ratio")


@pytest.mark.parametrize("level", ["ordinal", "interval"])
def test_agrees_with_the_krippendorff_package(level):
    krippendorff = pytest.importorskip("krippendorff")
    np = pytest.importorskip("numpy")
    rng = random.Random(20)
    for _ in range(200):
        raters, items = rng.randint(2, 5), rng.randint(2, 25)
        units = [[rng.choice([N, 1, 2, 3, 4, 5, rng.randint(1, 5)]) for _ in range(raters)] for _ in range(items)]
        ours = krippendorff_alpha_ordered(units, level)
        matrix = np.array([[np.nan if v is None else v for v in unit] for unit in units], dtype=float).T
        try:
            theirs = krippendorff.alpha(reliability_data=matrix, level_of_measurement=level)
        except (ValueError, ZeroDivisionError):
            theirs = None  # the package refuses data with one value or nothing pairable
        if ours is None:
            assert theirs is None or np.isnan(theirs), units
        else:
            assert theirs == pytest.approx(ours, abs=1e-9), units
