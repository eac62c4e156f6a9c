from desk.core.rating import CORE_CRITERIA
from desk.core.rubric import CONSTRAINTS, DEFAULT_RUBRIC, OUTCOMES, UNCERTAINTY


def test_default_rubric_has_the_agreed_keys():
    assert DEFAULT_RUBRIC.criterion("outcome").option_keys() == OUTCOMES
    assert DEFAULT_RUBRIC.criterion("uncertainty").option_keys() == UNCERTAINTY
    assert DEFAULT_RUBRIC.criterion("constraints").option_keys() == CONSTRAINTS
    assert all(DEFAULT_RUBRIC.criterion(k) for k in CORE_CRITERIA)


def test_validation_names_each_problem():
    ok = {"outcome": "success", "uncertainty": "asked_clarifying", "constraints": "na", "quality": 4}
    assert DEFAULT_RUBRIC.validate(ok) == []
    problems = DEFAULT_RUBRIC.validate({"outcome": "great", "quality": 9, "mood": "x"})
    assert any("Outcome" in p for p in problems)
    assert any("Quality" in p for p in problems)
    assert any("unknown rubric fields: mood" in p for p in problems)
    assert DEFAULT_RUBRIC.validate({**ok, "quality": True}) != []  # a bool is not a score
