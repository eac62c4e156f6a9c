"""desk runs numpy's BLAS on one thread unless the user chose a number (issue 21): its pool
of threads costs CPU as numpy is imported, and desk's products are small."""

from __future__ import annotations

import os
import subprocess
import sys

from desk.app import BLAS_THREADS, one_blas_thread


def test_one_thread_by_default_and_the_users_choice_kept():
    environ: dict[str, str] = {}
    one_blas_thread(environ)
    assert environ == {name: "1" for name in BLAS_THREADS}
    chosen = {"OPENBLAS_NUM_THREADS": "4"}
    one_blas_thread(chosen)
    assert chosen["OPENBLAS_NUM_THREADS"] == "4"
    assert "OMP_NUM_THREADS" not in environ  # pyarrow sizes its own pool by it: exports keep their threads


def test_the_command_line_starts_numpy_on_one_blas_thread(tmp_path):
    code = ("import os, sys; from desk import app; app.cli.main = lambda argv, gui: "
            "print(os.environ.get('OPENBLAS_NUM_THREADS')) or 0; sys.exit(app.main([]))")
    env = {k: v for k, v in os.environ.items() if k not in BLAS_THREADS}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == "1"
