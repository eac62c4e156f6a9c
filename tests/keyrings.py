"""A machine with no OS keyring (keyring's fail backend: every call raises), for the tests
that a key typed or given is never lost in silence there."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_keyring() -> Iterator[None]:
    """keyring's backend is the failing one inside the block; the previous one after."""
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)
