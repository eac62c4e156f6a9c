"""The verdict shown to the user: IFBench's, marked approximate where NLTK data is missing,
with desk's reading beside it where the two differ."""

from __future__ import annotations

import pytest

from desk.core.constraints import APPROXIMATE, check

KEYWORDS = {"keyword1": "cat", "keyword2": "nebula", "keyword3": "whisper", "keyword4": "lamp", "keyword5": "river"}
SUBSTRINGS = "category nebula nebula whisper whisper whisper " + "lamp " * 5 + "river " * 7


def test_official_verdict_is_upstreams_and_desks_reading_stands_beside_it():
    verdict = check(SUBSTRINGS, [{"id": "count:keywords_multiple", "kwargs": KEYWORDS}])
    (result,) = verdict.results
    assert result.ok and not result.desk_ok  # upstream counts "cat" in "category"; desk counts words
    assert verdict.followed and verdict.followed_by("ifbench") and not verdict.followed_by("desk")
    assert verdict.summary() == (
        "1/1 constraints met — desk's reading: count:keywords_multiple violated "
        "(keyword 'cat' appears 0 times, needs 1)"
    )
    with pytest.raises(ValueError):
        verdict.followed_by("mine")


def test_desks_reading_is_not_repeated_when_it_agrees():
    verdict = check("Maybe", [{"id": "format:options", "kwargs": {"options": "yes/no/maybe"}}])
    assert verdict.results[0].desk_ok is True and verdict.summary() == "1/1 constraints met"


def test_verdicts_that_need_nltk_data_say_they_are_approximate():
    verdict = check("I like tea. You like coffee. Do we agree?", [{"id": "ratio:sentence_type"}, {"id": "format:quotes"}])
    sentence_type, quotes = verdict.results
    assert sentence_type.ok and sentence_type.approximate == APPROXIMATE["ratio:sentence_type"]
    assert "Punkt" in sentence_type.approximate
    assert quotes.approximate is None
    assert verdict.approximate and "[approximate: ratio:sentence_type]" in verdict.summary()


def test_every_approximate_id_says_why():
    assert all("NLTK" in why for why in APPROXIMATE.values())
    assert "words:start_verb" in APPROXIMATE and "ratio:stop_words" in APPROXIMATE


def test_parameters_desks_reading_cannot_use_leave_the_official_verdict_alone():
    # A blank request to repeat: upstream compares the (empty) words after the first and
    # says "followed"; desk's reading has no first word to compare, so it says nothing.
    verdict = check("Write", [{"id": "repeat:repeat_change", "kwargs": {"prompt_to_repeat": " "}}])
    (result,) = verdict.results
    assert result.ok is True and result.desk_ok is None and verdict.summary() == "1/1 constraints met"
