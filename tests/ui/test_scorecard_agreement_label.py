"""The scorecard window's agreement column names the quality score's ordinal and interval alpha."""

from __future__ import annotations

from desk.ui.scorecard_view import _agreement


def test_the_scorecard_window_shows_the_quality_alphas():
    shown = _agreement({"raters": 2, "n_items": 6, "outcome": {"cohen_kappa": 0.5},
                        "quality": {"krippendorff_alpha_ordinal": 0.8, "krippendorff_alpha_interval": None}})
    assert shown == "2 raters, n=6: outcome κ=0.50, quality α ordinal=0.80, quality α interval=–"
