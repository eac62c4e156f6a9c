"""packaging/systemd: the user service and timer that re-run a suite weekly are valid units
(systemd-analyze verify), run exactly the `desk suite rerun RUN_ID --fail-on-regression`
this desk parses, and the README shows them and the crontab line."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desk.cli import _parser
from desk.cli.rerun import rerun_run

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "packaging" / "systemd"
SERVICE, TIMER = UNITS / "desk-suite-rerun@.service", UNITS / "desk-suite-rerun@.timer"


def _unit(path: Path) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    unit.read_string(path.read_text())
    return unit


def test_the_service_runs_the_gate_on_its_instance_and_the_timer_is_weekly():
    service, timer = _unit(SERVICE), _unit(TIMER)
    argv = shlex.split(service["Service"]["ExecStart"])
    assert argv[0] == "%h/.local/bin/desk" and service["Service"]["Type"] == "oneshot"
    args = _parser().parse_args([a.replace("%i", "01ABCDEF") for a in argv[1:]])
    assert args.handler.func is rerun_run and args.run_id == "01ABCDEF" and args.fail_on_regression
    assert timer["Timer"]["OnCalendar"].startswith("Mon ") and timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_systemd_accepts_the_units(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    # An instance of each template, with a desk that exists here (verify checks the binary).
    for template in (SERVICE, TIMER):
        text = template.read_text().replace("%h/.local/bin/desk", sys.executable)
        (tmp_path / template.name.replace("@.", "@01ABCDEF.")).write_text(text)
    units = sorted(str(p) for p in tmp_path.iterdir())
    result = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=60)
    if "Failed to initialize manager" in result.stderr:
        pytest.skip(f"systemd-analyze cannot run here: {result.stderr.strip()}")
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_the_readme_shows_the_units_and_the_crontab_line():
    readme = (ROOT / "README.md").read_text()
    assert "systemctl --user enable --now desk-suite-rerun@RUN_ID.timer" in readme
    assert "desk suite rerun RUN_ID --fail-on-regression" in readme
    assert any(line.lstrip().startswith("0 6 * * 1 ") and "suite rerun" in line for line in readme.splitlines())
    assert "resources/suite-history.png" in readme and (ROOT / "resources" / "suite-history.png").is_file()
