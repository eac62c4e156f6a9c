"""The packaging files stay valid and in step with the code: the .desktop entry and the
AppStream metainfo pass their validators, the metainfo's release is this version, the
icon PNGs have the sizes their names promise, and the PyInstaller spec builds entry.py."""

from __future__ import annotations

import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import desk

ROOT = Path(__file__).resolve().parent.parent
LINUX = ROOT / "packaging" / "linux"
DESKTOP = LINUX / "io.github.desk.Desk.desktop"
METAINFO = LINUX / "io.github.desk.Desk.metainfo.xml"
ICONS = ROOT / "resources" / "icons"
SIZES = (16, 32, 48, 64, 128, 256)


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (apt-get install desktop-file-utils appstream)")
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=60)


def test_desktop_file_validates():
    result = _run("desktop-file-validate", str(DESKTOP))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in (result.stdout + result.stderr).lower()


def test_metainfo_validates():
    result = _run("appstreamcli", "validate", "--no-net", str(METAINFO))
    assert result.returncode == 0, result.stdout + result.stderr


def test_metainfo_release_is_this_version():
    root = ET.parse(METAINFO).getroot()
    releases = root.findall("./releases/release")
    assert releases, "metainfo lists no release"
    assert releases[0].get("version") == desk.__version__


def test_metainfo_and_desktop_agree_on_the_id():
    root = ET.parse(METAINFO).getroot()
    app_id = root.findtext("id")
    assert root.findtext("launchable") == f"{app_id}.desktop" == DESKTOP.name
    assert f"Icon={app_id}\n" in DESKTOP.read_text()


@pytest.mark.parametrize("size", SIZES)
def test_icon_png_has_its_size(size):
    data = (ICONS / f"desk-{size}.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (size, size)


def test_icon_svg_is_square_256():
    root = ET.parse(ICONS / "desk.svg").getroot()
    assert root.get("viewBox") == "0 0 256 256"


def test_pyinstaller_spec_builds_the_entry_point():
    spec = (ROOT / "packaging" / "pyinstaller" / "desk.spec").read_text()
    assert "entry.py" in spec
    assert "COLLECT(" in spec
    entry = (ROOT / "packaging" / "pyinstaller" / "entry.py").read_text()
    assert "from desk.app import main" in entry


def test_a_wheel_carries_the_starter_suite_its_notice_and_the_icon(tmp_path):
    """`pip install desk` (not editable) must still find the starter suite: the wheel puts
    resources under <prefix>/share/desk, one of the places desk looks."""
    import sys
    import zipfile

    # A copy without build/ or .venv: a wheel of exactly what git tracks.
    src = tmp_path / "src"
    if shutil.which("git") is None:
        pytest.skip("git is not installed: cannot tell which files a release would contain")
    listing = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if listing.returncode != 0:
        pytest.skip("not a git checkout: cannot tell which files a release would contain")
    tracked = listing.stdout
    for name in tracked.splitlines():
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                            "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = (tmp_path / "dist").glob("desk-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = f"desk-{desk.__version__}.data/data/share/desk"
    for needed in ("suites/starter.jsonl", "suites/NOTICE", "icons/desk.svg"):
        assert f"{data}/{needed}" in names, sorted(n for n in names if ".data/" in n)
