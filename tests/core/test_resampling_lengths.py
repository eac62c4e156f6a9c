"""Data sets of different lengths (models with different answer counts, as in most stores)
each draw their own indices; desk.core.resampling works on them side by side on threads
(issue 21). The figures are those of one length after another, to the bit, whatever the
threads, and BLAS is left as it was found."""

import numpy as np
import pytest

from desk.core import resampling
from desk.core.statistics import bootstrap_ratio_intervals
from tests.core.test_resampling import _defined


def _data(lengths, seed=3):
    rng = np.random.default_rng(seed)
    return [(np.round(rng.gamma(2.0, 0.0011, n), 10), (rng.random(n) < 0.5).astype(float)) for n in lengths]


# Equal lengths share their draws (the counted path); others stand alone (the gathered path).
LENGTHS = [300, 301, 300, 457, 2, 1, 300, 999]


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_side_by_side_the_figures_are_one_length_after_another(monkeypatch, threads):
    data = _data(LENGTHS)
    monkeypatch.setattr(resampling, "_MAX_THREADS", 1)
    alone = bootstrap_ratio_intervals(data, n_resamples=500, seed=7)
    monkeypatch.setattr(resampling, "_MAX_THREADS", threads)
    monkeypatch.setattr(resampling, "_THREADS_FROM", 0)  # small data: on threads all the same
    monkeypatch.setattr(resampling.os, "cpu_count", lambda: 4)
    assert bootstrap_ratio_intervals(data, n_resamples=500, seed=7) == alone
    assert alone == _defined(data, n_resamples=500, seed=7)


def test_the_threads_are_used_and_blas_left_as_found(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [(lib["internal_api"], lib["num_threads"]) for lib in threadpoolctl.threadpool_info()]
    seen = set()
    inner = resampling.ratio_order_statistics

    def spy(*args, **kwargs):
        import threading
        seen.add(threading.current_thread().name)
        return inner(*args, **kwargs)

    monkeypatch.setattr(resampling, "ratio_order_statistics", spy)
    monkeypatch.setattr(resampling, "_THREADS_FROM", 0)
    monkeypatch.setattr(resampling.os, "cpu_count", lambda: 2)
    bootstrap_ratio_intervals(_data([200, 200, 201, 202]), n_resamples=300)
    assert seen and all(name.startswith("desk-resample") for name in seen)
    assert [(lib["internal_api"], lib["num_threads"]) for lib in threadpoolctl.threadpool_info()] == before


def test_an_error_in_one_length_is_raised(monkeypatch):
    monkeypatch.setattr(resampling, "_THREADS_FROM", 0)
    monkeypatch.setattr(resampling.os, "cpu_count", lambda: 2)

    def broken(*args, **kwargs):
        raise MemoryError("no room")

    monkeypatch.setattr(resampling, "ratio_order_statistics", broken)
    with pytest.raises(MemoryError):
        bootstrap_ratio_intervals(_data([50, 60]), n_resamples=100)
