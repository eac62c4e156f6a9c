"""`desk load` and the Load tab build their plans through one rule (desk.engine.load_plan):
the same bad input is refused by both for the same reason, each naming the field its own way,
and the same run asked for on both gives equal plans."""

from __future__ import annotations

import argparse

import pytest

from desk.cli import load as cli_load
from desk.core.dataset import load_prompts
from desk.engine.load_plan import LoadInput, PlanLabels
from desk.engine.load_tab import TAB_LABELS, LoadTabModel

A, B = "openai/gpt-4o-mini", "claude/claude-sonnet-4-5"


def cli_plan(*argv: str):
    parser = argparse.ArgumentParser()
    cli_load.register(parser.add_subparsers(dest="command"), argparse.ArgumentParser(add_help=False))
    args = parser.parse_args(["load", *argv])
    return cli_load.plan_from_args(args, lambda trial_id: None)


def tab_plan(dataset=None, fallback=None, where=None, **form):
    """The plan of the tab's form filled in: LoadInput's fields, the fallback as its list
    names it, and the "Where" choice."""
    model = LoadTabModel()
    model.edit(**{"models": (A,), "prompt": "What is 2 + 2?", **form})
    if fallback is not None:
        model.set_fallback(fallback)
    if where is not None:
        model.where = where
    if dataset is not None:
        model.use_dataset(dataset, load_prompts(dataset))
    return model.build_plan()


def reason(message: str, labels: PlanLabels) -> str:
    """The message with the surface's field names taken out: what the rule says. (`backoff`
    is a prefix the window puts before its two backoff fields, not a field: it goes.)"""
    names = sorted(((label, "" if name == "backoff" else f"<{name}>") for name, label in vars(labels).items()
                    if label), key=lambda x: -len(x[0]))
    for label, name in names:
        message = message.replace(label, name)
    return message


BAD = [  # (desk load's flags, the tab's form fields), meaning the same thing
    (["--ramp", "1,x"], {"ramp": "1,x"}),
    (["--ramp", "1,,2"], {"ramp": "1,,2"}),
    (["--ramp", "0"], {"ramp": "0"}),
    (["--ramp", "2.5"], {"ramp": "2.5"}),
    (["--ramp=-3"], {"ramp": "-3"}),
    (["--prompt", "  \n"], {"prompt": "  \n"}),
    (["--backoff-base", "5", "--backoff-max", "2"], {"backoff_base": 5.0, "backoff_max": 2.0}),
    (["--backoff-base=-1"], {"backoff_base": -1.0}),
    (["--concurrency", "0"], {"concurrency": 0}),
    (["--requests", "0"], {"requests": 0}),
    (["--duration", "0", "--requests", "5"], {"duration_s": 0.0, "requests": 5}),
    (["--temperature", "2.5"], {"temperature": 2.5}),
    (["--max-tokens", "0"], {"max_tokens": 0}),
    (["--max-retries=-1"], {"max_retries": -1}),
    (["--total-timeout", "0"], {"total_timeout": 0.0}),
    (["--fallback", "no-slash"], {"fallback": "no-slash"}),
]


@pytest.mark.parametrize(("flags", "form"), BAD)
def test_the_cli_and_the_tab_refuse_the_same_input_for_the_same_reason(flags, form):
    argv = ["-m", A, "--prompt", "What is 2 + 2?", *flags]
    if "--prompt" in flags:
        argv = ["-m", A, *flags]
    with pytest.raises(ValueError) as by_cli:
        cli_plan(*argv)
    with pytest.raises(ValueError) as by_tab:
        tab_plan(**form)
    assert reason(str(by_cli.value), cli_load.CLI_LABELS) == reason(str(by_tab.value), TAB_LABELS)


def test_each_surface_names_the_field_its_own_way():
    with pytest.raises(ValueError) as by_cli:
        cli_plan("-m", A, "-p", "hi", "--backoff-base", "5", "--backoff-max", "2")
    assert str(by_cli.value) == "--backoff-max (2 s) cannot be shorter than --backoff-base (5 s)."
    with pytest.raises(ValueError) as by_cli:
        cli_plan("-m", A, "-p", "hi", "--ramp", "1,1.5")
    assert str(by_cli.value).startswith("--ramp: '1.5' is not a whole number of at least 1")
    with pytest.raises(ValueError) as by_tab:
        tab_plan(ramp="1,1.5")
    assert str(by_tab.value).startswith("ramp: '1.5' is not a whole number of at least 1")


def test_the_same_run_asked_for_on_both_is_the_same_plan(tmp_path):
    by_cli = cli_plan("-m", A, "-m", B, "-p", "What is 2 + 2?", "-n", "5", "-c", "3", "--max-retries", "4",
                      "--no-retry-after", "--backoff-base", "0.25", "--backoff-max", "2", "--first-token-timeout",
                      "5", "--idle-timeout", "0.3", "--total-timeout", "8", "--connect-timeout", "3", "--fallback", B,
                      "--budget-ms", "900", "--temperature", "0.7", "--max-tokens", "32")
    by_tab = tab_plan(models=(A, B), requests=5, concurrency=3, max_retries=4, honour_retry_after=False,
                      backoff_base=0.25, backoff_max=2.0, first_token_timeout=5.0, idle_timeout=0.3,
                      total_timeout=8.0, connect_timeout=3.0, fallback=B, budget_ms=900.0, temperature=0.7,
                      max_tokens=32)
    assert by_cli == by_tab and by_cli.source == "prompt"

    ramped = cli_plan("-m", A, "-p", "What is 2 + 2?", "--ramp", "1, 8;32", "--duration", "1.5",
                      "--connect-timeout", "10")
    assert ramped == tab_plan(ramp="1, 8;32", requests=None, duration_s=1.5)
    assert [(s.concurrency, s.requests, s.duration_s) for s in ramped.steps] == [(1, None, 1.5), (8, None, 1.5),
                                                                               (32, None, 1.5)]

    rows = tmp_path / "prompts.jsonl"
    rows.write_text('{"prompt": "one"}\n{"prompt": "two", "system": "be brief"}\n', encoding="utf-8")
    from_file = cli_plan("-m", A, "--dataset", str(rows), "-n", "20")  # the command's defaults: the form's too
    assert from_file == tab_plan(dataset=rows) and len(from_file.inputs) == 2 and from_file.source == str(rows)


def test_a_stored_trials_task_keeps_its_system_prompt_unless_one_is_given():
    from desk.core.trial import TrialInput
    from desk.engine.load_plan import LoadInput, build_plan

    task = TrialInput("Which rows are odd?", "Be brief.")
    kept = build_plan(LoadInput(models=(A,), trial=task, requests=1, source="trial t1"), TAB_LABELS)
    assert kept.inputs == (task,) and kept.source == "trial t1"
    replaced = build_plan(LoadInput(models=(A,), trial=task, system="Be long.", requests=1), TAB_LABELS)
    assert replaced.inputs == (TrialInput("Which rows are odd?", "Be long."),)
    removed = build_plan(LoadInput(models=(A,), trial=task, system="", requests=1), TAB_LABELS)
    assert removed.inputs == (TrialInput("Which rows are odd?"),)


def test_the_load_tab_starts_from_the_commands_defaults():
    """The form and `desk load` meant the same run but started from different numbers (8 streams
    against 10): a person comparing a window run with a scripted one should not have to notice.
    The form holds the command's own input (LoadInput), so no field can drift: only `requests`
    differs, the command needs --requests or --duration and the form pre-fills 20 so a first
    click runs."""
    from dataclasses import replace

    form = LoadTabModel().form
    assert type(form) is LoadInput
    assert form == replace(LoadInput(models=()), requests=20)


def test_where_a_run_is_sent_from_is_the_same_plan_on_both():
    """The form's "Where" is `--workers` / `--cluster`: this process, N worker processes (auto
    when not said, as the command picks), or a Ray cluster's actors."""
    from desk.engine.load_tab import CLUSTER, HERE, PROCESSES

    base = ("-m", A, "-p", "What is 2 + 2?", "-n", "20")
    assert cli_plan(*base) == tab_plan() and tab_plan().workers == 0  # neither said: the same automatic choice
    assert cli_plan(*base, "--workers", "1") == tab_plan(where=HERE, workers=6)  # one process: the count is moot
    assert cli_plan(*base, "--workers", "3") == tab_plan(where=PROCESSES, workers=3)
    on_cluster = cli_plan(*base, "--cluster", "ray://head:10001", "--workers", "4")
    assert on_cluster == tab_plan(where=CLUSTER, workers=4, cluster=" ray://head:10001 ")
    assert (on_cluster.cluster, on_cluster.workers) == ("ray://head:10001", 4)
    assert cli_plan(*base, "--cluster", "auto") == tab_plan(where=CLUSTER, cluster="auto")
    assert tab_plan(where=PROCESSES, workers=3, cluster="auto").cluster == ""  # an address typed, then not chosen
    with pytest.raises(ValueError, match=r"Ray cluster: give its address \(ray://HOST:PORT\), or auto"):
        tab_plan(where=CLUSTER, cluster="  ")
