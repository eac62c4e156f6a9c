"""asked → then succeeded, asked needlessly, guessed → succeeded / failed (issue 16),
against figures worked out by hand."""

from __future__ import annotations

import pytest

from desk.core.clarification_scores import Share, TaskTurns, clarification_scores

ASK = {"outcome": "success", "uncertainty": "asked_clarifying"}
NEEDLESS = {"outcome": "partial", "uncertainty": "needless_question"}
CONFIDENT = {"outcome": "success", "uncertainty": "confident_correct"}
WRONG = {"outcome": "failure", "uncertainty": "confident_wrong"}
OK, PARTIAL, FAIL = {"outcome": "success"}, {"outcome": "partial"}, {"outcome": "failure"}


def test_hand_computed_figures():
    tasks = [
        # model a: asked (needed) 3 times, then succeeded twice and failed once; asked once
        # needlessly; guessed 4 times: 1 success, 3 failures; 1 asked with no later turn.
        TaskTurns("a", "Which year?", ASK, OK, 2),
        TaskTurns("a", "Which year?", ASK, OK, 2),
        TaskTurns("a", "Which year?", ASK, PARTIAL, 2),
        TaskTurns("a", "Do you mean X?", NEEDLESS, OK, 2),
        TaskTurns("a", "It is 42.", CONFIDENT, CONFIDENT, 1),
        TaskTurns("a", "It is 41.", WRONG, WRONG, 1),
        TaskTurns("a", "It is 40.", WRONG, WRONG, 1),
        TaskTurns("a", "It is 39.", WRONG, WRONG, 1),
        TaskTurns("a", "Which year?", ASK, ASK, 1),  # asked, never answered: not in asked → succeeded
        # model b: unrated first answers, decided by the heuristic.
        TaskTurns("b", "Could you tell me which region?", None, OK, 2),
        TaskTurns("b", "North sold most.", None, FAIL, 1),
        TaskTurns("b", "North sold most.", None, None, 1),  # unrated last answer: no outcome, not counted
    ]
    a, b = clarification_scores(tasks)
    assert (a.model, b.model) == ("a", "b")
    assert (a.asked_then_succeeded, a.asked_needlessly) == (Share(2, 3), Share(1, 5))
    assert (a.guessed_succeeded, a.guessed_failed, a.extra_turns) == (Share(1, 4), Share(3, 4), 4)
    assert (b.asked_then_succeeded, b.asked_needlessly) == (Share(1, 1), Share(0, 1))
    assert (b.guessed_succeeded, b.guessed_failed, b.extra_turns) == (Share(0, 1), Share(1, 1), 1)
    # Wilson 95% for 2 of 3, worked by hand: centre (2/3 + z²/6) / (1 + z²/3), z = 1.959964.
    low, high = a.asked_then_succeeded.interval
    assert (low, high) == (pytest.approx(0.2077, abs=1e-4), pytest.approx(0.9385, abs=1e-4))
    assert a.asked_then_succeeded.rate == pytest.approx(2 / 3)
    assert Share(0, 0).interval is None and Share(0, 0).rate is None
