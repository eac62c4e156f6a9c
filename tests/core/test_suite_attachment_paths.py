"""A suite's attachments come from the suite's own folder (symlinks resolved) unless the user
allows another path; a prompt over the one limit is refused like any bad row."""

from __future__ import annotations

import json
import os

import pytest

from desk.core.dataset import DatasetError, load_prompts
from desk.core.suite import SuiteError, load_suite_file
from desk.core.trial import MAX_PROMPT_CHARS, TrialInput, Variant, trial_size_problem


def suite(folder, *rows):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "suite.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def secret(tmp_path):
    """A file outside the suite's folder, standing in for /etc/passwd or ~/.ssh/id_rsa."""
    path = tmp_path / "private" / "secret.txt"
    path.parent.mkdir()
    path.write_text("password=hunter2\n")
    return path


def test_absolute_and_dotdot_paths_outside_the_folder_fail_naming_the_line(tmp_path, secret):
    (tmp_path / "suites" / "files").mkdir(parents=True)
    (tmp_path / "suites" / "files" / "ok.csv").write_text("a,b\n1,2\n")
    dotdot = "../" * 12 + str(secret).lstrip("/")  # climbs past / then down to the secret
    path = suite(tmp_path / "suites",
                 {"id": "fine", "prompt": "p", "attachments": ["files/ok.csv"]},
                 {"id": "abs", "prompt": "p", "attachments": [str(secret)]},
                 {"id": "up", "prompt": "p", "attachments": [dotdot]},
                 {"id": "up2", "prompt": "p", "attachments": "files/../../private/secret.txt"})
    with pytest.raises(SuiteError) as err:
        load_suite_file(path)
    message = str(err.value)
    assert message.startswith("suite.jsonl: 3 bad rows, nothing imported")
    for line, item in ((2, str(secret)), (3, dotdot), (4, "files/../../private/secret.txt")):
        assert f"line {line}: attachment {item!r} is {secret}, outside the suite's folder" in message
    assert "line 1" not in message and "--allow-outside" in message
    assert err.value.outside == (str(secret),)


def test_the_real_etc_files_are_refused(tmp_path):
    path = suite(tmp_path, {"prompt": "p", "attachments": ["/etc/hostname"]},
                 {"prompt": "q", "attachments": ["../../../../../etc/passwd"]})
    with pytest.raises(SuiteError) as err:
        load_suite_file(path)
    assert "line 1: attachment '/etc/hostname'" in str(err.value)
    assert "line 2: attachment '../../../../../etc/passwd' is /etc/passwd, outside" in str(err.value)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_a_symlink_inside_pointing_outside_is_refused_and_one_pointing_inside_is_fine(tmp_path, secret):
    folder = tmp_path / "suites"
    folder.mkdir()
    (folder / "real.txt").write_text("inside\n")
    (folder / "innocent.txt").symlink_to(secret)
    (folder / "alias.txt").symlink_to(folder / "real.txt")
    (folder / "sub").symlink_to(secret.parent, target_is_directory=True)
    path = suite(folder, {"id": "a", "prompt": "p", "attachments": ["alias.txt"]},
                 {"id": "b", "prompt": "p", "attachments": ["innocent.txt"]},
                 {"id": "c", "prompt": "p", "attachments": ["sub/secret.txt"]})
    with pytest.raises(SuiteError) as err:
        load_suite_file(path)
    assert f"line 2: attachment 'innocent.txt' is {secret}, outside" in str(err.value)
    assert f"line 3: attachment 'sub/secret.txt' is {secret}, outside" in str(err.value)
    assert "line 1" not in str(err.value)


def test_allow_outside_widens_the_rule_to_that_path_only(tmp_path, secret):
    other = tmp_path / "elsewhere.txt"
    other.write_text("not allowed\n")
    path = suite(tmp_path / "suites", {"id": "a", "prompt": "p", "attachments": [str(secret)]})
    (case,) = load_suite_file(path, allow_outside=[secret.parent])
    assert case.attachments[0].text == "password=hunter2\n"
    (case,) = load_suite_file(path, allow_outside=[str(secret)])  # a single file may be allowed too
    assert case.attachments[0].name == "secret.txt"
    with pytest.raises(SuiteError, match="outside"):
        load_suite_file(path, allow_outside=[other])


def test_one_prompt_limit_for_suites_datasets_and_trials(tmp_path):
    big = "x" * (MAX_PROMPT_CHARS + 1)
    path = suite(tmp_path, {"id": "ok", "prompt": "x" * MAX_PROMPT_CHARS},
                 {"id": "big", "prompt": big}, {"id": "sys", "prompt": "p", "system": big})
    with pytest.raises(SuiteError) as err:
        load_suite_file(path)
    assert "2 bad rows" in str(err.value)
    assert f"line 2: the prompt is {MAX_PROMPT_CHARS + 1:,} characters, more than the {MAX_PROMPT_CHARS:,}" \
        in str(err.value)
    assert "line 3: the system prompt is" in str(err.value)

    data = tmp_path / "prompts.jsonl"
    data.write_text(json.dumps({"prompt": "fine"}) + "\n" + json.dumps({"prompt": big}) + "\n")
    with pytest.raises(DatasetError, match=r"prompts\.jsonl line 2: the prompt is 5,000,001 characters"):
        load_prompts(data)
    data = tmp_path / "prompts.csv"
    data.write_text("prompt,system\nfine,\nhi," + big + "\n")
    with pytest.raises(DatasetError, match=r"prompts\.csv line 3: the system prompt is"):
        load_prompts(data)

    assert trial_size_problem(TrialInput("x" * MAX_PROMPT_CHARS, "s")) is None
    assert "system prompt B" in trial_size_problem(TrialInput("p"), [Variant("A", "s"), Variant("B", big)])
