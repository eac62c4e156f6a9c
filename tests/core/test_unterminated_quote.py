"""A quote that is never closed in a CSV suite or dataset is an error naming the line
where it opened, and nothing is read (the csv module would otherwise swallow every
following line into that one cell: `c3` would vanish into `c2`'s prompt)."""

from __future__ import annotations

import pytest

from desk.core.dataset import DatasetError, prompts_from_csv
from desk.core.suite import SuiteError, cases_from_csv

UNTERMINATED = 'id,prompt,expect\nc1,hello,answer\nc2,"unterminated quote,answer\nc3,third,answer\n'


def test_suite_csv_with_an_unterminated_quote_names_the_line_and_imports_nothing():
    with pytest.raises(SuiteError) as caught:
        cases_from_csv(UNTERMINATED, "cases.csv")
    message = str(caught.value)
    assert "cases.csv: 1 bad row, nothing imported: line 3: a quoted cell starts on this line" in message
    assert "never closed" in message


def test_dataset_csv_with_an_unterminated_quote_names_the_line():
    text = 'prompt,system\nfirst,\n"second\nthird,\n'
    with pytest.raises(DatasetError, match=r"^prompts.csv line 3: a quoted cell starts on this line"):
        prompts_from_csv(text, "prompts.csv")


def test_an_unterminated_quote_in_the_header_is_line_1():
    with pytest.raises(SuiteError, match="line 1: a quoted cell"):
        cases_from_csv('id,prompt,"notes\nc1,hi,x\n', "cases.csv")


@pytest.mark.parametrize(
    ("text", "prompts"),
    [
        ('id,prompt\nc1,"two\nlines"\nc2,after\n', ["two\nlines", "after"]),  # a closed multi-line cell
        ('id,prompt\nc1,a 5" screen\nc2,ok', ['a 5" screen', "ok"]),  # a quote inside a cell, no final newline
        ('id,prompt\nc1,"said ""hi"""\r\n\r\nc2,x\r\n', ['said "hi"', "x"]),  # doubled quotes, CRLF, blank line
    ],
)
def test_closed_and_literal_quotes_still_read(text, prompts):
    assert [c.prompt for c in cases_from_csv(text)] == prompts
    assert [t.prompt for t in prompts_from_csv(text)] == prompts
