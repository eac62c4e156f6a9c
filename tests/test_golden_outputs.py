"""Issue 13's safety net: on a recorded store (tests/golden/store.db), every `--json` read
command, the human listings beside them, and every export format give byte for byte the
outputs recorded in tests/golden/expected/ before the refactor.

A difference here is a change a user sees. If it is meant, rerun tests/golden/make_store.py
(`--expected` keeps the store) and review the diff of expected/ in the commit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.golden.outputs import produce

GOLDEN = Path(__file__).resolve().parent / "golden"
EXPECTED = GOLDEN / "expected"


@pytest.fixture(scope="module")
def produced(tmp_path_factory) -> dict[str, bytes]:
    tmp = tmp_path_factory.mktemp("golden")
    db = tmp / "store.db"
    shutil.copyfile(GOLDEN / "store.db", db)
    return produce(db, tmp / "out")


def _expected() -> list[str]:
    return sorted(p.relative_to(EXPECTED).as_posix() for p in EXPECTED.rglob("*") if p.is_file())


def test_every_recorded_output_is_still_produced(produced):
    assert sorted(produced) == _expected()


@pytest.mark.parametrize("name", _expected())
def test_output_is_byte_identical(produced, name):
    want = (EXPECTED / name).read_bytes()
    got = produced.get(name)
    assert got is not None, f"{name} was not produced"
    if got != want:  # show the first differing line, not two blobs
        for i, (a, b) in enumerate(zip(want.splitlines(), got.splitlines(), strict=False)):
            assert b == a, f"{name} line {i + 1} differs"
    assert got == want, f"{name} differs in length"
