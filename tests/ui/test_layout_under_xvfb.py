"""The laptop-size layout tests hold on a real X server (Xvfb, the xcb platform), not only offscreen.

Offscreen, every window counts as active and fonts and sizes come from a fake screen; on X a
window without a window manager is never activated by itself, and real font metrics decide
what fits. Running the same tests there keeps both platforms honest.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNDER_X = ["tests/ui/test_answer_layout.py", "tests/ui/test_chosen_chip.py", "tests/ui/test_attachment_landing.py"]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("Xvfb") is None or shutil.which("xvfb-run") is None,
                    reason="Xvfb is not installed (.ci/run installs it)")
def test_layout_tests_pass_under_xvfb():
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(ROOT)}
    env.pop("DISPLAY", None)
    proc = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24 -nolisten tcp",
         sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *UNDER_X],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    summary = output.strip().splitlines()[-1]
    # Every test ran and passed: none skipped (say, for want of a display) or deselected.
    assert re.fullmatch(r"=* ?\d+ passed in [\d.]+s ?=*", summary.strip()), output[-4000:]
