"""PyInstaller entry point: the same `main` the `desk` console script runs."""

import sys

from desk.app import main

if __name__ == "__main__":
    sys.exit(main())
