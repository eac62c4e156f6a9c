"""An answer's first line read from the start of its text is the whole text's (a run's
matrix reads 600 characters of each answer, not 100,000 texts): whenever the start settles
it, the line is the same, and it says when it does not."""

from hypothesis import given, settings
from hypothesis import strategies as st

from desk.core.first_line import first_line, first_line_of_start

_PIECES = st.sampled_from(["", " ", "  ", "\t", "\n", "\r\n", "\r", "\x0b", "\x0c", "\u2028", "\u3000", "\xa0",
                           "a", "word ", "Answer:", "é", "x" * 150, "y" * 230, " " * 210])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=40), st.integers(1, 700))
def test_a_settled_start_gives_the_whole_texts_first_line(pieces, cut):
    text = "".join(pieces)
    start = text[:cut]
    found = first_line_of_start(start, whole=len(text) <= cut)
    if found is not None:
        assert found == first_line(text)


def test_what_the_start_cannot_settle_is_said():
    assert first_line_of_start("\n\n  ", whole=False) is None  # no line with text yet
    assert first_line_of_start("short line still going", whole=False) is None  # its end is unknown
    assert first_line_of_start("short line\nmore", whole=False) == "short line"
    assert first_line_of_start("z" * 250, whole=False) == "z" * 200  # 200 characters seen: the cut is known
    assert first_line_of_start("  \n", whole=True) == ""


def test_first_line_skips_blank_lines_strips_and_cuts():
    assert first_line("\n \n  Hello there  \nnext") == "Hello there"
    assert first_line("q" * 300) == "q" * 200
    assert first_line("") == ""
