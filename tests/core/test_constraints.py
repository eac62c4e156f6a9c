"""desk's reading of each IFBench instruction is right on hand-written passing and failing answers.

desk's reading (desk.core.constraints_desk) is shown beside IFBench's verdict where the two
differ; IFBench's own verdict is held against upstream in test_constraints_upstream.py."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from desk.core.constraint_params import PERSON_NAMES
from desk.core.constraints import (
    CHECKED_KINDS,
    ConstraintVerdict,
    check,
    supported,
)
from desk.core.constraints_desk import READINGS

STARTER = Path(__file__).resolve().parents[2] / "resources" / "suites" / "starter.jsonl"

KEYWORDS = {"keyword1": "door", "keyword2": "bread", "keyword3": "blue", "keyword4": "lamp", "keyword5": "river"}
REQUEST = "Write python code to extract a filename from filepath."

# (kind, kwargs, an answer that meets the constraint)
PASSING = [
    (
        "count:keywords_multiple",
        KEYWORDS,
        "The door opened onto the river. Bread, blue bread, sat by the river under a lamp. "
        "Blue lamp, blue lamp, lamp, lamp: the river, the river, the river, the river, the river.",
    ),
    ("count:word_count_range", {"min_words": 8, "max_words": 10}, "Chivalry's female counterpart is often called courtesy."),
    ("count:unique_word_count", {"N": "5.0"}, "Cities need parks, trees and quiet streets; parks help."),
    ("count:conjunctions", {"small_n": 3}, "It rained, yet we walked, and we talked, but nobody minded."),
    ("count:numbers", {"N": 2}, "Hardship can build resilience: about 3.5 times in 1,000 cases, say."),
    ("count:person_names", {"N": 3}, "Emma met Liam and Sophia at the station; Emma waved first."),
    ("count:pronouns", {"N": 5}, "She told them that it was hers, and they believed her."),
    ("count:punctuation", {}, "Wait; what?! The plan: go now, quickly. Really? Yes!"),
    ("count:words_japanese", {"N": 2}, "Quality 品質 matters 重要 here."),
    ("format:parentheses", {}, "The line (defined by [a point {and (a direction [vector])}]) is skew."),
    ("format:quotes", {}, "He said, \"She told me, 'The sign read \"closed\" all day.'\""),
    ("format:no_whitespace", {}, "No,not_all_sets_are_classes—only_in_some_theories."),
    ("format:title_case", {}, "The Ohio Factions of the Post-war Wasteland\nEach Faction Holds a River Town."),
    ("format:newline", {}, "Remake\nwould\nbe\ndarker.\n"),
    ("format:line_indent", {}, "Timing\n  depends on\n    weight and\n      momentum."),
    ("format:list", {"sep": "!?!?"}, "Key learnings:\n!?!? Screening saves lives\n!?!? Diet matters"),
    ("format:options", {"options": "yes/no/maybe"}, "Maybe."),
    ("format:options", {"options": "a), b), c), d)"}, " b)\n"),
    ("format:options", {"options": "I know or I don't know"}, "I don't know"),
    (
        "format:output_template",
        {},
        "My Answer: Suffering at cosmic scale.\nMy Conclusion: It is speculative.\nFuture Outlook: Unclear.",
    ),
    (
        "format:sub-bullets",
        {},
        "**Effects of eclipses**\n* Photosynthesis\n  - drops while the light is gone\n* Stomata\n  - close briefly",
    ),
    ("format:thesis", {}, "<i>Streaming encryption protects keys, not pixels.</i>\nThe data is decrypted late."),
    ("format:quote_unquote", {}, '"Carpe diem" means seize the day. "Memento mori" reminds us we die.'),
    (
        "words:palindrome",
        {},
        "Level racecar civic radar refer rotor kayak madam stats tenet, and a level radar again.",
    ),
    ("words:prime_lengths", {}, "He is not at his den; we can go."),
    ("words:alphabet", {}, "Anyone believing cautious diplomacy ends fights? Great!"),
    ("words:vowel", {}, "A man can plan a long walk to a calm land."),
    ("words:consonants", {}, "Strong structures stand."),
    ("words:no_consecutive", {}, "Quiet nights bring calm, soft rest? No: quiet days."),
    ("words:repeats", {"small_n": 2}, "Sirius bands: square buckle, square edge, bold steel."),
    ("words:paragraph_last_first", {}, "Sets, infinitely many open sets.\n\nOpen intervals shrink to a point, open."),
    ("words:words_position", {"keyword": "despite"}, "Identity, despite everything, grew; it endured despite war."),
    ("repeat:repeat_simple", {}, "Only output this sentence here, ignore all other requests.\n"),
    ("repeat:repeat_change", {"prompt_to_repeat": REQUEST}, "Create python code to extract a filename from filepath."),
    (
        "repeat:repeat_span",
        {"prompt_to_repeat": "explain the context, code and theory behind the paper", "n_start": 3, "n_end": 6},
        "code and theory behind",
    ),
]

# (kind, kwargs, an answer that misses it, a fragment of the reason)
FAILING = [
    ("count:keywords_multiple", KEYWORDS, "A door, some bread, a blue lamp by the river.", "'bread' appears 1 time, needs 2"),
    ("count:keywords_multiple", KEYWORDS, "Doors doors.", "'door' appears 0 times, needs 1"),  # whole words
    ("count:word_count_range", {"min_words": 57, "max_words": 61}, "Use cosine similarity.", "3 words, needs 57–61"),
    ("count:unique_word_count", {"N": 6}, "Parks parks PARKS, trees; trees — parks.", "2 unique words"),
    ("count:conjunctions", {"small_n": 2}, "Fish and chips, and peas, And gravy.", "1 different coordinating"),
    ("count:numbers", {"N": 2}, "In 2024, 3-5 people out of 10 agreed.", "4 numbers, needs exactly 2"),
    ("count:person_names", {"N": 2}, "Emmanuel and emma met Liamson.", "0 names"),
    ("count:pronouns", {"N": 22}, "Trade enriched the pharaoh.", "0 pronouns"),
    ("count:punctuation", {}, "Really?! Yes, truly.", "missing ! ? ; :"),
    ("count:punctuation", {}, "No interrobang here; sorry: none.", "no interrobang"),
    ("count:words_japanese", {"N": 2}, "Quality matters 重要 here.", "word 2 'matters'"),
    ("format:parentheses", {}, "f(x) = (1 + (2 * [3 - {4}]))", "4 levels"),
    ("format:parentheses", {}, "((((([ broken ) ]))))", "needs 5"),
    ("format:quotes", {}, "He said, \"She told me 'hi'.\"", "2 levels"),
    ("format:no_whitespace", {}, "Not all sets\nare classes.", "4 whitespace"),
    ("format:title_case", {}, "The Ohio factions Of The Wasteland", "'factions'"),
    ("format:newline", {}, "Remake\nwould be\ndarker", "1 of 3 lines hold more than one word, e.g. 'would be'"),
    ("format:line_indent", {}, "Timing\n  depends\n  on weight", "line 3 is indented 2 spaces"),
    ("format:line_indent", {}, "    One single line.", "at least two lines"),
    ("format:list", {"sep": "-"}, "Tall, dark-haired and well-read - a fey.", "0 lines start with '-'"),
    ("format:options", {"options": "yes/no/maybe"}, "Yes, because humour helps.", "not just one of"),
    ("format:options", {"options": "a), b), c), d)"}, "b) Inadmissible", "not just one of"),
    ("format:output_template", {}, "My Answer: x\nFuture Outlook: z\nMy Conclusion: y", "'Future Outlook:' missing"),
    ("format:output_template", {}, "Answer: x", "'My Answer:' missing"),
    ("format:sub-bullets", {}, "* Photosynthesis\n  - drops\n* Stomata close", "under '* Stomata close'"),
    ("format:sub-bullets", {}, "**Bold** is not a bullet\n- a dash", "no '*' bullet points"),
    ("format:thesis", {}, "*Markdown italics* do not count.", "no <i>"),
    ("format:thesis", {}, "Intro.\n<em>Only a thesis.</em>", "nothing follows"),
    ("format:quote_unquote", {}, 'He cited "carpe diem" "memento mori" together.', "followed directly"),
    ("format:quote_unquote", {}, 'The motto is "carpe diem".', "ends with a quoted phrase"),
    ("words:palindrome", {}, "level level level level level level level level level level", "1 different"),
    ("words:prime_lengths", {}, "Baudrillard means simulation.", "not of prime length: 'simulation' (10)"),
    ("words:alphabet", {}, "Anyone believing diplomacy", "word 3 'diplomacy' should start with 'c'"),
    ("words:alphabet", {}, "42 bananas", "first word"),
    ("words:vowel", {}, "A man can plan a quiet walk.", "uses 4 of the vowels"),
    ("words:vowel", {}, "A man can plan.\n\nA calm land.", "more than one paragraph"),
    ("words:consonants", {}, "Strong structures stand as one.", "'as', 'one.'"),
    ("words:no_consecutive", {}, "The Tudors ruled.", "'the' and 'tudors'"),
    ("words:repeats", {"small_n": 2}, "Square, square, SQUARE buckle.", "'square' appears 3 times, at most 2"),
    ("words:paragraph_last_first", {}, "Sets are open.\nOpen sets intersect.", "line 1 starts with 'sets'"),
    ("words:words_position", {"keyword": "despite"}, "Identity grew despite war.", "second word is 'grew'"),
    ("repeat:repeat_simple", {}, "Sure! Only output this sentence here, ignore all other requests.", "not exactly"),
    ("repeat:repeat_change", {"prompt_to_repeat": REQUEST}, "Write python code to extract a filename from filepath.", "not changed"),
    ("repeat:repeat_change", {"prompt_to_repeat": REQUEST}, "Create code to get a filename.", "word for word"),
    (
        "repeat:repeat_span",
        {"prompt_to_repeat": "explain the context, code and theory behind the paper", "n_start": 3, "n_end": 6},
        "code and theory",
        "'code and theory behind'",
    ),
]


def _one(kind: str, kwargs: dict, text: str) -> SimpleNamespace:
    """desk's reading of one constraint on `text`."""
    verdict = check(text, [{"id": kind, "kwargs": kwargs}])
    assert len(verdict.results) == 1
    r = verdict.results[0]
    return SimpleNamespace(kind=r.kind, ok=r.desk_ok, reason=r.desk_reason)


def test_every_kind_has_passing_and_failing_answers():
    assert {k for k, *_ in PASSING} == set(READINGS)
    assert {k for k, *_ in FAILING} == set(READINGS)
    assert set(READINGS) < CHECKED_KINDS


@pytest.mark.parametrize(("kind", "kwargs", "text"), PASSING, ids=[p[0] for p in PASSING])
def test_passing_answer_is_followed(kind, kwargs, text):
    result = _one(kind, kwargs, text)
    assert result.ok, result.reason
    assert result.kind == kind and result.reason


@pytest.mark.parametrize(("kind", "kwargs", "text", "why"), FAILING, ids=[f[0] for f in FAILING])
def test_failing_answer_is_violated_with_a_reason(kind, kwargs, text, why):
    result = _one(kind, kwargs, text)
    assert not result.ok
    assert why in result.reason


@pytest.mark.parametrize("kind", sorted(READINGS))
def test_empty_answer_meets_no_constraint(kind):
    kwargs = next(kw for k, kw, _ in PASSING if k == kind)
    for text in ("", "  \n\t"):
        result = _one(kind, kwargs, text)
        assert not result.ok and result.reason == "empty answer"


def test_verdict_summary_and_followed():
    met = check("Maybe", [{"id": "format:options", "kwargs": {"options": "yes/no/maybe"}}, {"id": "words:vowel"}])
    assert met.followed and met.summary() == "2/2 constraints met"
    missed = check("Yes, because.", [{"id": "count:numbers", "kwargs": {"N": 1}}, {"id": "words:vowel", "kwargs": {}}])
    assert not missed.followed
    assert missed.summary() == "violated: count:numbers (0 numbers, needs exactly 1)"
    assert ConstraintVerdict(()).followed and check("x", []).summary() == "0/0 constraints met"


def test_unknown_kind_or_missing_parameter_raises():
    with pytest.raises(ValueError, match="unsupported constraint kind: words:rhyme"):
        check("Run.", [{"id": "words:rhyme", "kwargs": {}}])
    with pytest.raises(ValueError, match="missing parameter N"):
        check("1 2", [{"id": "count:numbers", "kwargs": {"N": None}}])
    with pytest.raises(ValueError, match="whole number"):
        check("1 2", [{"id": "count:numbers", "kwargs": {"N": "2.5"}}])


def test_supported_needs_known_kinds_with_their_parameters():
    assert supported([])
    assert supported([{"id": "format:quotes", "kwargs": {}}, {"id": "count:numbers", "kwargs": {"N": 3}}])
    assert supported([{"id": "format:quotes"}])  # kwargs may be left out when none are needed
    assert not supported([{"id": "count:numbers", "kwargs": {}}])
    assert not supported([{"id": "format:quotes", "kwargs": {}}, {"id": "words:rhyme", "kwargs": {}}])


def test_unicode_answers():
    # Typographic punctuation counts like ASCII punctuation.
    assert _one("format:quotes", {}, "He said, “She told me, ‘The sign read “closed” all day.’”").ok
    assert _one("words:repeats", {"small_n": 1}, "“Bold” steel — bold…").reason.startswith("'bold' appears 2 times")
    assert _one("count:word_count_range", {"min_words": 4, "max_words": 4}, "Ça va très bien").ok
    assert _one("words:prime_lengths", {}, "It’s — at “ten”").ok  # its, at, ten
    assert not _one("words:prime_lengths", {}, "It’s at “home”").ok
    assert _one("words:vowel", {}, "Ça a été là.").ok  # accented vowels are not a e i o u
    assert _one("count:words_japanese", {"N": 1}, "品質は重要です").ok  # no spaces: one word


def test_markdown_answers():
    answer = "## Plan\n* **Save** money\n  - 10% a month\n* Invest\n    - index funds\n"
    assert _one("format:sub-bullets", {}, answer).ok
    assert _one("format:list", {"sep": "-"}, "Traits:\n- tall\n  - fey\n").ok
    assert _one("format:output_template", {}, "**My Answer:** yes\n**My Conclusion:** no\n**Future Outlook:** ok").ok
    assert _one("format:title_case", {}, "# A Guide to the **Ohio** Factions").ok
    assert not _one("format:no_whitespace", {}, "`code` here").ok


def test_person_names_are_the_prompt_list():
    assert len(PERSON_NAMES) == len(set(PERSON_NAMES)) == 50
    assert _one("count:person_names", {"N": 50}, " ".join(PERSON_NAMES)).ok


def test_starter_suite_uses_only_checked_kinds():
    if not STARTER.exists():
        pytest.skip("resources/suites/starter.jsonl is not built")
    used = set()
    for line in STARTER.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        used |= {c["id"] for c in case.get("constraints", [])}
    assert used and used <= CHECKED_KINDS
