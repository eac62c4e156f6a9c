"""A real X server (Xvfb) renders the window after a real trial; the PNG is what a user sees."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed (.ci/run installs it)")
@pytest.mark.parametrize(("extra", "size"), [([], (1366, 768)), (["--two-turns"], (1366, 768)),  # README's two
                                             (["--two-turns", "--size", "1024x700"], (1024, 700))],  # a small window
                         ids=["one-turn", "two-turns", "two-turns-1024x700"])
def test_screenshot_under_xvfb(tmp_path, extra, size):
    out = tmp_path / "shot.png"
    proc = subprocess.run([sys.executable, "-m", "tests.ui.screenshot", "--out", str(out), *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000  # a real picture, not a blank frame
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert (image.width(), image.height()) == size  # the screen asked for (default: a laptop's)
    colours = {image.pixel(x, y) for x in range(0, size[0], 40) for y in range(0, size[1], 40)}
    assert len(colours) > 5  # widgets were drawn
