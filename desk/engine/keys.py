"""API keys: from the environment variable a provider names, else the OS keyring.

Keys never touch the database, the logs or the exports.
"""

from __future__ import annotations

import os

from desk.core.provider import ProviderConfig

KEYRING_SERVICE = "desk"


class KeyStoreError(RuntimeError):
    """The OS keyring is missing or refused the operation."""


def get_api_key(config: ProviderConfig) -> str | None:
    """The provider's key, or None if it has none (local servers need none)."""
    if config.key_env:
        value = os.environ.get(config.key_env)
        if value:
            return value.strip()
    return _keyring_get(config.name)


def _keyring_get(name: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError

        try:
            return keyring.get_password(KEYRING_SERVICE, name)
        except KeyringError:
            return None
    except Exception:
        return None


def set_api_key(name: str, key: str) -> None:
    """Store a key in the OS keyring."""
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, name, key)
    except Exception as exc:
        raise KeyStoreError(
            f"cannot store the key in the OS keyring ({type(exc).__name__}: {exc}); "
            "use --key-env VAR to read it from an environment variable instead"
        ) from None


def delete_api_key(name: str) -> None:
    try:
        import keyring

        keyring.delete_password(KEYRING_SERVICE, name)
    except Exception:
        pass
