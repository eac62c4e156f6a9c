"""PyInstaller entry point: the same `main` the `desk` console script runs."""

import multiprocessing
import sys

from desk.app import main

if __name__ == "__main__":
    # A load run's worker processes are spawned from this executable: let them run the
    # worker instead of a second desk.
    multiprocessing.freeze_support()
    sys.exit(main())
