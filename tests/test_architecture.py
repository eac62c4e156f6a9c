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


MAX_MODULE_LINES, MAX_FUNCTION_LINES = 600, 80
SIZED = ("desk/cli",)  # other packages follow as they are split (issue 13)


def _oversized(path: Path) -> list[str]:
    import ast

    text = path.read_text(encoding="utf-8")
    where = path.relative_to(ROOT)
    found = [f"{where}: {len(text.splitlines())} lines"] if len(text.splitlines()) > MAX_MODULE_LINES else []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{where}:{node.lineno} {node.name}: {length} lines")
    return found


def test_modules_and_functions_stay_small():
    """No module over 600 lines, no function over 80, where the rule is already kept."""
    paths = [p for folder in SIZED for p in sorted((ROOT / folder).rglob("*.py"))]
    assert paths, SIZED
    assert [msg for p in paths for msg in _oversized(p)] == []
