"""Room for a wide load step's sockets. Many systems start a process with a soft limit of
1,024 open files while allowing far more: 2,500 streams in one process then fail with "too
many open files" mid-spike. A load run raises its own soft limit as far as the hard limit
allows before it opens its connections, as load tools commonly do."""

from __future__ import annotations

import logging

log = logging.getLogger("desk.engine.load")

SPARE = 64  # the store, the log, pipes to workers, the vendor's DNS look-ups


def make_room_for(sockets: int) -> int | None:
    """Raise this process's soft open-file limit to hold `sockets` connections (never past
    the hard limit). Returns the limit now in force, None where the system has none."""
    try:
        import resource
    except ImportError:  # Windows: no per-process descriptor limit of this kind
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = sockets + SPARE
    if soft == resource.RLIM_INFINITY or soft >= need:
        return soft
    target = need if hard == resource.RLIM_INFINITY else min(need, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        target = soft
    if target < need:
        log.warning("this process may hold %d open files but the step needs about %d: requests past that fail "
                    "with 'too many open files'; raise the hard limit (ulimit -Hn) or split the load over workers",
                    target, need)
    return target
