"""desk/ type-checks: mypy with pyproject.toml's [tool.mypy], strict where the rules live."""

import importlib.util
import re
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
    """7 to 15 s from a cold cache on two busy cores, 2 s warm (.mypy_cache in the checkout)."""
    _mypy()
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr
    # A per-module override naming a module that no longer exists is only a note to mypy.
    assert "unused section" not in proc.stdout + proc.stderr, proc.stdout[-2000:] + proc.stderr


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


def test_each_listed_exception_still_fires(tmp_path):
    """The per-module `disable_error_code` lists name work left: checked without them, each
    listed code must still occur in its module, else it leaves the list."""
    _mypy()
    text = (ROOT / "pyproject.toml").read_text()
    listed = re.findall(r'\[\[tool\.mypy\.overrides\]\]\nmodule = "([\w.]+)"\ndisable_error_code = \[(.*?)\]\n', text)
    assert listed, "no exceptions left: remove this test"
    config = tmp_path / "pyproject.toml"
    config.write_text(re.sub(r'\[\[tool\.mypy\.overrides\]\]\nmodule = "[\w.]+"\ndisable_error_code = .*\n', "", text))
    proc = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(config)], cwd=ROOT,
                          capture_output=True, text=True)
    fired = {(path.removesuffix(".py").replace("/", "."), code)
             for path, code in re.findall(r"^(desk/[\w/]+\.py):\d+: error: .*\[([\w-]+)\]$", proc.stdout, re.M)}
    stale = [f"{module}: {code}" for module, codes in listed for code in re.findall(r'"([\w-]+)"', codes)
             if (module, code) not in fired]
    assert stale == [], "no longer needed, remove from [tool.mypy] overrides"
