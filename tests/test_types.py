"""desk/ type-checks: mypy with pyproject.toml's [tool.mypy], strict where the rules live."""

import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STRICT = ["desk.core.*", "desk.engine.services.*", "desk.engine.ports.*"]


def _mypy() -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.fail("mypy is part of the test extra; install with pip install -e '.[test]'")


def test_desk_type_checks():
    """About 10 s from a cold cache, 2 s warm (.mypy_cache in the checkout)."""
    _mypy()
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr


def test_strict_packages_get_every_strict_flag():
    """`strict` cannot be set per module (in an override mypy turns it on everywhere), so
    the override spells out the flags; this keeps them equal to what --strict means today."""
    _mypy()
    from mypy.main import process_options
    from mypy.options import PER_MODULE_OPTIONS

    no_config = ["--config-file", ""]
    _, plain = process_options([*no_config, "desk"])
    _, strict = process_options([*no_config, "--strict", "desk"])
    wanted = {k: getattr(strict, k) for k in PER_MODULE_OPTIONS if getattr(plain, k) != getattr(strict, k)}
    assert wanted, "mypy's --strict changed shape"
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    found = [o for o in config["overrides"] if o["module"] == STRICT]
    assert len(found) == 1, f"one override for {STRICT}"
    settings = {**{k: v for k, v in config.items() if k != "overrides"}, **found[0]}
    assert {k: settings.get(k) for k in wanted} == wanted
