"""Running a script that opens the real window in a fresh interpreter: what a test of
imports at start-up needs (the test process has imported everything long before)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run_window_probe(probe: str, tmp_path: Path, *, timeout: float = 180) -> dict[str, Any]:
    """Run `probe` offscreen with a new store (argv[1]) and settings file (argv[2]); the JSON
    object its last line of output prints."""
    proc = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "desk.db"), str(tmp_path / "ui.ini")],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
