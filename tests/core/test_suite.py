"""Suite files: every column read as documented, every bad row reported with its line."""

from __future__ import annotations

import json

import pytest

from desk.core.suite import (
    EXPECT_KINDS,
    Case,
    Constraint,
    SuiteError,
    case_from_trial,
    cases_from_csv,
    check_name,
    handled,
    load_suite_file,
)
from desk.core.trial import TrialInput
from tests.media import png


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_jsonl_reads_every_field(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "churn.csv").write_bytes(b"customer,mrr\nacme,120\n")
    (tmp_path / "files" / "chart.png").write_bytes(png(3, 2))
    path = write_jsonl(tmp_path / "s.jsonl", [
        {"id": "q1", "prompt": "Which customers churned?", "system": "be brief", "expect": "clarify",
         "tags": ["churn", "sales"], "attachments": ["files/churn.csv", "files/chart.png"],
         "notes": "should ask which quarter", "source": "ours", "upstream_id": "T-1"},
        {"prompt": "Three words, please.", "expect": "follow_constraints", "tags": "a; b ;a",
         "constraints": [{"id": "count:word_count_range", "kwargs": {"min_words": 3, "max_words": 3}}]},
        {"prompt": "IFBench style", "expect": "FOLLOW_CONSTRAINTS",
         "instruction_id_list": ["format:quotes"], "kwargs": [{"N": None}]},
    ])
    a, b, c = load_suite_file(path)
    assert a.key == "q1" and a.system == "be brief" and a.expect == "clarify"
    assert a.tags == ("churn", "sales") and a.notes == "should ask which quarter"
    assert (a.source, a.upstream_id) == ("ours", "T-1")
    assert [(x.name, x.kind) for x in a.attachments] == [("churn.csv", "data"), ("chart.png", "image")]
    assert a.attachments[0].text == "customer,mrr\nacme,120\n"
    # The notes are for the rater: never part of what is sent.
    assert a.trial_input() == TrialInput("Which customers churned?", "be brief", a.attachments)
    assert b.key == "2" and b.tags == ("a", "b") and b.system is None
    assert b.constraints == (Constraint("count:word_count_range", {"min_words": 3, "max_words": 3}),)
    assert c.expect == "follow_constraints" and c.constraints == (Constraint("format:quotes", {"N": None}),)
    assert [x.position for x in (a, b, c)] == [0, 1, 2]


def test_csv_reads_every_column(tmp_path):
    (tmp_path / "log.txt").write_text("error at 10:02\n")
    path = tmp_path / "s.csv"
    path.write_text(
        "id;prompt;expect;tags;attachments;notes;constraints;extra\n"
        "c1;\"Why did it fail?\nSee the log.\";abstain;ops;log.txt;cannot know;;ignored\n"
        "c2;List 3 things;follow_constraints;a;;;\"[{\"\"id\"\": \"\"format:list\"\", \"\"kwargs\"\": {}}]\";\n"
        ";;;;;;;\n"
        "c3;Hi;;;;;;\n",
        encoding="utf-8",
    )
    c1, c2, c3 = load_suite_file(path)
    assert c1.prompt == "Why did it fail?\nSee the log." and c1.expect == "abstain" and c1.tags == ("ops",)
    assert c1.attachments[0].name == "log.txt" and c1.notes == "cannot know"
    assert c2.constraints == (Constraint("format:list", {}),)
    assert c3.expect == "" and c3.key == "c3"


def test_bad_rows_are_all_reported_and_nothing_is_read(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps({"id": "a", "prompt": "fine"}) + "\n"
        + "\n"
        + "{not json\n"
        + json.dumps({"id": "b", "prompt": "   "}) + "\n"
        + json.dumps({"id": "a", "prompt": "again", "expect": "guess"}) + "\n"
        + json.dumps({"prompt": "x", "attachments": ["missing.csv"]}) + "\n"
        + json.dumps({"prompt": "x", "tags": [1, 2]}) + "\n"
        + json.dumps(["a list"]) + "\n"
        + json.dumps({"prompt": "x", "constraints": [{"kwargs": {}}]}) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(SuiteError) as err:
        load_suite_file(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("bad.jsonl: 7 bad rows, nothing imported: ")
    for expected in ("line 3: not valid JSON", "line 4: the prompt is empty",
                     "line 5: id 'a' is used twice (first on line 1); expect 'guess' is not one of",
                     "line 6: attachment 'missing.csv':", "no such file",
                     "line 7: 'tags' must be a list", "line 8: expected an object",
                     "line 9: constraint 1 needs an 'id'"):
        assert expected in message, expected


def test_csv_bad_rows_name_their_lines(tmp_path):
    text = "prompt,expect\nok,answer\n,answer\n\"two\nlines\",maybe\nx,answer,extra\n"
    with pytest.raises(SuiteError) as err:
        cases_from_csv(text, "s.csv")
    message = str(err.value)
    assert "3 bad rows" in message
    assert "line 3: the prompt is empty" in message
    assert "line 4: expect 'maybe'" in message  # a row spanning lines 4-5 is named by its first
    assert "line 6: 3 cells but the header has 2 columns" in message


def test_files_that_cannot_be_suites(tmp_path):
    with pytest.raises(SuiteError, match="no such file"):
        load_suite_file(tmp_path / "nope.csv")
    (tmp_path / "no_prompt.csv").write_text("question,expect\nhi,answer\n")
    with pytest.raises(SuiteError, match="line 1: no 'prompt' column"):
        load_suite_file(tmp_path / "no_prompt.csv")
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(SuiteError, match="no cases"):
        load_suite_file(tmp_path / "empty.jsonl")
    (tmp_path / "binary.csv").write_bytes(b"prompt\n\x00\x01\x02\x03binary")
    with pytest.raises(SuiteError, match="binary"):
        load_suite_file(tmp_path / "binary.csv")


def test_an_attachment_is_checked_like_in_the_window(tmp_path):
    (tmp_path / "fake.png").write_bytes(b"PK\x03\x04 not an image")
    write_jsonl(tmp_path / "s.jsonl", [{"prompt": "look", "attachments": "fake.png"}])
    with pytest.raises(SuiteError, match=r"line 1: attachment 'fake.png': fake.png: not a readable image"):
        load_suite_file(tmp_path / "s.jsonl")


@pytest.mark.parametrize(("expect", "values", "result"), [
    ("clarify", {"uncertainty": "asked_clarifying"}, True),
    ("clarify", {"uncertainty": "confident_correct"}, False),
    ("abstain", {"uncertainty": "stated_uncertainty"}, True),
    ("abstain", {"uncertainty": "confident_wrong"}, False),
    ("answer", {"uncertainty": "confident_correct"}, True),
    ("answer", {"uncertainty": "partial_with_caveats"}, True),
    ("answer", {"uncertainty": "needless_question"}, False),
    ("follow_constraints", {"constraints": "followed"}, True),
    ("follow_constraints", {"constraints": "violated"}, False),
    ("follow_constraints", {"constraints": "na"}, False),
    ("follow_constraints", {"uncertainty": "asked_clarifying"}, None),  # not judged
    ("", {"uncertainty": "asked_clarifying"}, None),  # nothing expected
])
def test_handled_follows_the_issue_mapping(expect, values, result):
    assert handled(expect, values) is result


def test_names_and_helpers():
    assert check_name("  my   suite ") == "my suite"
    with pytest.raises(SuiteError, match="built-in"):
        check_name("starter")
    assert check_name("starter", builtin_ok=True) == "starter"
    with pytest.raises(SuiteError, match="needs a name"):
        check_name(" ")
    case = case_from_trial("1", TrialInput("p", "s"), upstream_id="T")
    assert (case.prompt, case.system, case.source, case.upstream_id) == ("p", "s", "trial", "T")
    assert EXPECT_KINDS == ("clarify", "abstain", "answer", "follow_constraints")
    exported = Case("k", "p", expect="answer", tags=("t",), notes="n",
                    constraints=(Constraint("format:list", {"n": 1}),)).as_json()
    assert exported == {"id": "k", "prompt": "p", "expect": "answer", "tags": ["t"], "notes": "n",
                        "constraints": [{"id": "format:list", "kwargs": {"n": 1}}]}
