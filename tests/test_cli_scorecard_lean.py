"""`desk scorecard` prices nothing, so it does not load the price catalog and the keyring on
a thread beside its own work (half a second of CPU on a 100,000-answer scorecard, issue 21)."""

import subprocess
import sys

CHECK = """
import sys
from desk.cli import main
main(["scorecard", "--db", sys.argv[1], "--json"])
from desk.engine import pricing
print(pricing._preload_started.is_set())
"""


def test_scorecard_does_not_warm_the_price_catalog(tmp_path):
    # A fresh interpreter: the warm-up is once per process.
    done = subprocess.run([sys.executable, "-c", CHECK, str(tmp_path / "desk.db")],
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.splitlines()[-1] == "False"
