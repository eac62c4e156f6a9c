"""`desk load --cluster` without the desk[cluster] extra: one clear line naming the install,
and desk without it never loads Ray."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.cli_helpers import ROOT, cli_env, desk, one_line_error
from tests.vendor_server import Script


def test_without_ray_a_cluster_run_says_how_to_install_it_and_sends_nothing(srv, db, tmp_path):
    srv.set_default("fast", Script(text_pieces=["a"]))
    assert desk("provider", "add", "p", "--kind", "openai", "--base-url", srv.base_url + "/v1", db=db).returncode == 0
    (tmp_path / "ray.py").write_text("raise ImportError('No module named ray')\n")  # as if not installed
    env = cli_env(db, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    run = desk("load", "-m", "p/fast", "--prompt", "hi", "-n", "2", "--cluster", "auto", env=env)
    assert run.returncode != 0
    line = one_line_error(run.stderr)
    assert "pip install 'desk[cluster]'" in line and "Ray" in line
    assert srv.requests == []
    assert desk("runs", "--json", db=db).json_lines() == []  # nothing half-started is stored
    assert desk("history", "--json", db=db).json_lines() == []


def test_desk_never_imports_ray_unless_a_run_goes_to_a_cluster():
    code = ("import sys, desk.app, desk.engine.session, desk.cli.load, desk.engine.services.load_cluster; "
            "print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=cli_env(),
                         timeout=60)
    assert out.stdout.strip() == "False", out.stderr
