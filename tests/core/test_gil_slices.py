"""Big C loops made a slice at a time (desk.core.gil_slices): the very results of the one
call each stands for, whatever the length against SLICE, and never more than SLICE items
made in one call."""

from __future__ import annotations

from collections import Counter
from itertools import count, repeat

import pytest

import desk.core.gil_slices as gil_slices
from desk.core.gil_slices import counted, listed, mapped, zipped_dict

LENGTHS = (0, 1, 4, 5, 6, 10, 11)


@pytest.fixture(autouse=True)
def small_slices(monkeypatch):
    monkeypatch.setattr(gil_slices, "SLICE", 5)


@pytest.mark.parametrize("n", LENGTHS)
def test_mapped_is_list_of_map(n):
    assert mapped(str, range(n)) == list(map(str, range(n)))
    assert mapped(pow, range(n), repeat(2)) == [k * k for k in range(n)]  # stops at the shortest, as map
    assert mapped(divmod, range(n), range(1, 3)) == list(map(divmod, range(n), range(1, 3)))


@pytest.mark.parametrize("n", LENGTHS)
def test_listed_and_zipped_dict_and_counted_are_their_one_call(n):
    assert listed(k % 3 for k in range(n)) == [k % 3 for k in range(n)]
    keys = [k % 4 for k in range(n)]
    assert zipped_dict(keys, range(n)) == dict(zip(keys, range(n), strict=True))  # later keys win
    assert counted(keys) == Counter(keys) and isinstance(counted(keys), Counter)


def test_zipped_dict_is_strict_as_zip():
    with pytest.raises(ValueError):
        zipped_dict(range(10), range(11))
    with pytest.raises(ValueError):
        zipped_dict(range(10), count())  # an endless one never ends evenly


def test_each_call_into_c_makes_a_slice_at_most(monkeypatch):
    # What one C call makes comes from one islice of SLICE items: spied, none gives more, and
    # together they give every item (a big input is not made in one call).
    given: list[int] = []
    real = gil_slices.islice

    def spied(source, size):
        chunk = list(real(source, size))
        given.append(len(chunk))
        return iter(chunk)

    monkeypatch.setattr(gil_slices, "islice", spied)
    for make in (lambda: mapped(str, range(23)), lambda: listed(iter(range(23))),
                 lambda: zipped_dict(range(23), range(23))):
        given.clear()
        assert len(make()) == 23
        assert max(given) == gil_slices.SLICE and sum(given) == 23 and len(given) == 5
