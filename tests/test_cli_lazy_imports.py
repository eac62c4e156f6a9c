"""A command imports what it needs, not every subcommand's (issue 21): building the parser
(`desk --help`) and a `desk scorecard --json` never load httpx (half a second cold), the
providers, the runner, the load machinery or Qt. Each check runs in a fresh interpreter."""

import shutil
import subprocess
import sys
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"
HEAVY = ("httpx", "desk.providers", "desk.engine.runner", "desk.engine.load", "desk.engine.services.load",
         "desk.engine.services.judge", "desk.engine.services.trials", "PySide6", "pyqtgraph", "pandas")

REPORT = f"""
import sys
print(sorted(m for m in {HEAVY!r} if m in sys.modules))
"""


def _loaded(code: str, *args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code + REPORT, *args], capture_output=True, text=True,
                          timeout=120, check=True)
    return eval(done.stdout.splitlines()[-1])  # the list printed last


# A `desk scorecard --json` in this process, its output checked: what a startup test runs.
SCORECARD_JSON = ("import contextlib, io, sys\nfrom desk.app import main\n"
                  "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
                  "    assert main(['scorecard', '--db', sys.argv[1], '--json']) == 0\n"
                  "assert out.getvalue().startswith('[')\n")


def test_building_the_parser_loads_no_heavy_module():
    assert _loaded("import desk.app, desk.cli\ndesk.cli._parser()\n") == []


def test_a_scorecard_loads_no_heavy_module(tmp_path):
    db = tmp_path / "store.db"
    shutil.copyfile(GOLDEN / "store.db", db)
    assert _loaded(SCORECARD_JSON, str(db)) == []


def test_the_providers_kinds_still_list_in_the_help():
    done = subprocess.run([sys.executable, "-m", "desk", "provider", "add", "--help"], capture_output=True,
                          text=True, timeout=120, check=True)
    assert "openai, anthropic, gemini, ollama" in " ".join(done.stdout.split())


def _commands(parser):
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    return list(sub.choices)


def test_the_command_table_is_what_the_groups_register():
    from desk.cli import COMMANDS, _parser

    assert _commands(_parser([])) == list(COMMANDS)  # `desk --help` lists them all, in this order
    for command in COMMANDS:
        assert command in _commands(_parser(["--db", "x.db", command, "--json"]))
    assert _commands(_parser(["-h", "scorecard"])) == list(COMMANDS)


def test_a_scorecard_imports_no_other_commands_group(tmp_path):
    db = tmp_path / "store.db"
    shutil.copyfile(GOLDEN / "store.db", db)
    code = ("import contextlib, io, sys\nfrom desk.app import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert main(['scorecard', '--db', sys.argv[1], '--json']) == 0\n"
            "print(sorted(m for m in ('desk.cli.load', 'desk.cli.provider', 'desk.cli.export', 'desk.cli.local',"
            " 'desk.cli.merge', 'desk.cli.rate') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True, timeout=120,
                          check=True)
    assert done.stdout.splitlines()[-1] == "[]"


def test_the_frozen_build_collects_the_groups_imported_by_name():
    spec = (GOLDEN.parent.parent / "packaging" / "pyinstaller" / "desk.spec").read_text()
    assert 'collect_submodules("desk.cli")' in spec  # PyInstaller cannot see importlib.import_module(f"...")
