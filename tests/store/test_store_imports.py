"""Opening a store does not import pandas (sqlite-utils would, for over a second)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_opening_a_store_leaves_pandas_unimported(tmp_path):
    code = ("import sys; from desk.store import open_store; open_store(sys.argv[1]).close(); "
            "print('pandas' in sys.modules); import pandas; print(bool(pandas.DataFrame))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "x.db")], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True).stdout.split()
    assert out == ["False", "True"]  # not imported by desk, still importable by whoever wants it
