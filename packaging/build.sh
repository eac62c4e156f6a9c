#!/usr/bin/env bash
# Build the one-folder desk bundle with PyInstaller: DIST/desk/desk (default dist/desk/desk).
#   packaging/build.sh [DIST]
set -euo pipefail
cd "$(dirname "$0")/.."
DIST="${1:-dist}"
PY="${PYTHON:-.venv/bin/python}"
"$PY" -m pip install -q -e '.[package]'
"$PY" -m PyInstaller --noconfirm --clean packaging/pyinstaller/desk.spec \
  --distpath "$DIST" --workpath build/pyinstaller
echo "built: $DIST/desk/desk ($(du -sh "$DIST/desk" | cut -f1))"
