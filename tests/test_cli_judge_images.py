"""`desk judge` says when the judge did not see a task's images, and why (issue 14); `desk
provider images` sets per model whether it takes images; the agreement report says how
many answers each judge judged without their images."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli_helpers import ROOT, cli_env, desk
from tests.store.conftest import tiny_png
from tests.vendor_server import Script

jsonschema = pytest.importorskip("jsonschema")
VERDICT = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "na", "quality": 4,
           "rationale": "Fine."}


def test_withheld_images_are_said_and_the_users_word_sends_them(srv, tmp_path):
    env = cli_env(tmp_path / "img.db")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(Path(jsonschema.__file__).parents[1])])
    assert desk("provider", "add", "p", "--kind", "openai", "--base-url", srv.base_url + "/v1", env=env).returncode == 0
    (tmp_path / "chart.png").write_bytes(tiny_png())
    srv.set_default("m1", Script(text_pieces=["a bar chart"]))
    trial = desk("trial", "-m", "p/m1", "-p", "What is shown?", "-a", str(tmp_path / "chart.png"), "--json", env=env)
    assert trial.returncode == 0, trial
    trial_id = trial.json_lines()[0]["trial_id"]
    for model in ("judge", "judge-2"):
        srv.set_default(model, Script(text_pieces=[json.dumps(VERDICT)]))

    shown = desk("provider", "images", "p/judge", env=env)
    assert "desk does not know whether p/judge takes images" in shown.stdout
    first = desk("judge", "--trial", trial_id, "--judge", "p/judge", env=env)
    assert first.returncode == 0, first
    assert "images withheld from the judge for 1 answer(s) whose task has images: desk does not know" in first.stdout
    report = desk("judge", "agreement", env=env)
    assert "note: judge:p/judge did not see the images of 1 answer(s) whose task has images" in report.stdout

    told = desk("provider", "images", "p/judge-2", "yes", env=env)
    assert told.returncode == 0 and "p/judge-2 takes images (set for the model)" in told.stdout
    second = desk("judge", "--trial", trial_id, "--judge", "p/judge-2", env=env)
    assert "images sent to the judge for 1 answer(s): p/judge-2 takes images (set for the model)" in second.stdout
    sent = [r for r in srv.requests if r.method == "POST" and r.model == "judge-2"]
    assert len(sent) == 1 and "image_url" in json.dumps(sent[0].json)
    assert json.loads(desk("judge", "agreement", "--json", env=env).stdout)["images_withheld"] == {"judge:p/judge": 1}
