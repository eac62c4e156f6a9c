"""How a step's streams and requests are shared out among worker processes."""

from __future__ import annotations

import pytest

from desk.core.load import LoadStep
from desk.core.load_split import default_workers, split_step


def test_default_is_one_worker_per_500_streams_at_most_one_per_core():
    assert default_workers([LoadStep(10, 100)], 1, 8) == 1  # a small run stays in one loop
    assert default_workers([LoadStep(500, 500)], 1, 8) == 1
    assert default_workers([LoadStep(10, 10), LoadStep(501, 501)], 1, 8) == 2  # the widest step counts
    assert default_workers([LoadStep(300, 300)], 2, 8) == 2  # every model's streams
    assert default_workers([LoadStep(5000, 5000)], 1, 2) == 2
    assert default_workers([LoadStep(5000, 5000)], 1, None) == 1


def test_streams_and_requests_shared_evenly_and_every_request_sent_once():
    shares = split_step(LoadStep(10, 101), 3)
    assert [s.concurrency for s in shares] == [4, 3, 3]
    assert sum(s.requests for s in shares) == 101 and [s.requests for s in shares] == [41, 30, 30]


def test_a_step_narrower_than_the_workers_leaves_some_out():
    assert split_step(LoadStep(2, 50), 4) == [LoadStep(1, 25), LoadStep(1, 25), None, None]
    # never more streams than requests, in all or in any share
    assert split_step(LoadStep(10, 3), 2) == [LoadStep(2, 2), LoadStep(1, 1)]


def test_a_timed_step_runs_for_its_duration_on_every_worker():
    assert split_step(LoadStep(5, duration_s=3.0), 2) == [LoadStep(3, None, 3.0), LoadStep(2, None, 3.0)]


@pytest.mark.parametrize("c,r,w", [(7, 7, 3), (100, 3, 3), (1, 1, 4), (5000, 5000, 2), (13, 1000, 5)])
def test_shares_add_up(c, r, w):
    shares = [s for s in split_step(LoadStep(c, r), w) if s is not None]
    assert sum(s.requests for s in shares) == r
    assert sum(s.concurrency for s in shares) == min(c, r)
    assert all(1 <= s.concurrency <= s.requests for s in shares)
