"""The folders' promises, checked: import-linter contracts from pyproject.toml."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.fail("import-linter is part of the test extra; install with pip install -e '.[test]'")
    proc = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_front_ends_and_cycle_contracts_are_among_them():
    """lint-imports checks whatever pyproject.toml lists: these two must stay listed."""
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    by_type = {(c["type"], tuple(c.get("source_modules", c.get("ancestors", [])))) for c in contracts}
    assert ("forbidden", ("desk.cli", "desk.ui")) in by_type
    assert ("acyclic_siblings", ("desk",)) in by_type
    front = next(c for c in contracts if c.get("source_modules") == ["desk.cli", "desk.ui"])
    assert front["forbidden_modules"] == ["desk.store", "desk.providers"]


def test_core_and_cli_import_without_qt():
    """The headless face needs no Qt: importing the CLI must not pull PySide6 in."""
    code = "import sys, desk.cli, desk.engine.session; assert 'PySide6' not in sys.modules, 'Qt imported'"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_ruff_is_clean():
    exe = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(exe).exists():
        pytest.fail("ruff is part of the test extra; install with pip install -e '.[test]'")
    proc = subprocess.run([exe, "check", "desk", "tests", "packaging"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr

