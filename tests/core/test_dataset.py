"""Prompts from CSV / JSONL files for load runs: encodings, delimiters, and errors that name the line."""

from __future__ import annotations

import pytest

from desk.core.dataset import DatasetError, load_prompts


def test_csv_with_bom_system_column_quoted_newlines(tmp_path):
    f = tmp_path / "p.csv"
    f.write_bytes('\ufeffprompt,system\n"two\nlines",Be brief\nplain,\n\n'.encode())
    prompts = load_prompts(f)
    assert [(p.prompt, p.system) for p in prompts] == [("two\nlines", "Be brief"), ("plain", None)]


def test_csv_from_a_european_spreadsheet_semicolons_cp1252(tmp_path):
    f = tmp_path / "p.csv"
    f.write_bytes("id;Prompt\n1;Résumé, please\n2;Zoë\n".encode("cp1252"))
    assert [p.prompt for p in load_prompts(f)] == ["Résumé, please", "Zoë"]


@pytest.mark.parametrize(("content", "expected"), [
    ("question,answer\nhi,there\n", "line 1: no 'prompt' column"),
    ("prompt,system\nfine,\n ,sys\n", "line 3: the prompt is empty"),
    ("prompt\n", "no prompts"),
    ("", "line 1: the header row is empty"),
])
def test_csv_problems(tmp_path, content, expected):
    f = tmp_path / "p.csv"
    f.write_text(content)
    with pytest.raises(DatasetError, match=expected):
        load_prompts(f)


@pytest.mark.parametrize(("line", "expected"), [
    ('{"prompt": oops}', "line 3: not valid JSON"),
    ('["a list"]', "line 3: expected an object"),
    ('{"text": "no prompt"}', "line 3: no 'prompt' field"),
    ('{"prompt": 7}', "line 3: 'prompt' is not a string"),
    ('{"prompt": "x", "system": 1}', "line 3: 'system' is not a string"),
])
def test_jsonl_problems_name_the_line(tmp_path, line, expected):
    f = tmp_path / "p.jsonl"
    f.write_text('{"prompt": "one"}\n\n' + line + "\n")
    with pytest.raises(DatasetError, match=expected) as caught:
        load_prompts(f)
    assert str(caught.value).startswith("p.jsonl line 3")


def test_jsonl_and_missing_files(tmp_path):
    f = tmp_path / "p.ndjson"
    f.write_text('{"prompt": "a", "system": null}\n{"prompt": "b", "system": "s"}\n')
    assert [(p.prompt, p.system) for p in load_prompts(f)] == [("a", None), ("b", "s")]
    with pytest.raises(DatasetError, match="no such file"):
        load_prompts(tmp_path / "missing.csv")
    (tmp_path / "bin.csv").write_bytes(b"\x00\x01\x02" * 50)
    with pytest.raises(DatasetError, match="binary"):
        load_prompts(tmp_path / "bin.csv")
