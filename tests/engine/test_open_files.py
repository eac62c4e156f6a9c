"""A load run makes room for its sockets: a soft open-file limit of a few hundred (1,024 on
many systems) is raised toward the hard limit before a wide step opens its connections."""

from __future__ import annotations

import pytest

from desk.engine.open_files import SPARE, make_room_for

resource = pytest.importorskip("resource")


@pytest.fixture
def low_soft_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 600:
        pytest.skip(f"hard open-file limit {hard} leaves no room to test")
    resource.setrlimit(resource.RLIMIT_NOFILE, (200, hard))
    yield hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_soft_limit_is_raised_for_the_sockets_and_never_past_the_hard_one(low_soft_limit):
    assert make_room_for(400) == 400 + SPARE == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert make_room_for(10) == 400 + SPARE  # never lowered
    if low_soft_limit != resource.RLIM_INFINITY:
        assert make_room_for(low_soft_limit * 2) == low_soft_limit
