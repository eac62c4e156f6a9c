"""API keys: from the environment variable a provider names, else the OS keyring.

Keys never touch the database, the logs or the exports.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from desk.core.provider import ProviderConfig

KEYRING_SERVICE = "desk"


class KeyStoreError(RuntimeError):
    """The OS keyring is missing or refused the operation."""


def get_api_key(config: ProviderConfig) -> str | None:
    """The provider's key, or None if it has none (local servers need none)."""
    return env_key(config) or _keyring_get(config.name)


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
    """Store a key in the OS keyring. The error says what failed; each face (CLI flag,
    dialog field) adds its own way to give the key through an environment variable."""
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, name, key)
    except Exception as exc:
        raise KeyStoreError(f"cannot store the key in the OS keyring ({type(exc).__name__}: {exc})") from None


def env_key(config: ProviderConfig) -> str | None:
    """The key from the provider's environment variable, when it names one that is set."""
    value = os.environ.get(config.key_env) if config.key_env else None
    return value.strip() if value and value.strip() else None


@dataclass(frozen=True)
class SecretStore:
    """Where keys typed into desk are kept: `usable` False when no OS keyring is available."""

    name: str
    usable: bool

    @property
    def description(self) -> str:
        if self.usable:
            return f"API keys are kept in the OS keyring ({self.name})"
        return (f"no OS keyring is available ({self.name}): a typed key cannot be kept; "
                "give keys through an environment variable")


def secret_store() -> SecretStore:
    """The keyring backend in use, and whether it can keep a key (a `fail` or `null` backend,
    or one with no priority, cannot)."""
    try:
        import keyring

        backend = keyring.get_keyring()
    except Exception as exc:
        return SecretStore(f"{type(exc).__name__}: {exc}", False)
    kind = type(backend)
    name = f"{kind.__module__.removeprefix('keyring.backends.')}.{kind.__name__}"
    try:
        priority = float(backend.priority)
    except Exception:
        priority = 0.0
    unusable = kind.__module__ in ("keyring.backends.fail", "keyring.backends.null") or priority <= 0
    return SecretStore(name, not unusable)


def delete_api_key(name: str) -> None:
    try:
        import keyring

        keyring.delete_password(KEYRING_SERVICE, name)
    except Exception:
        pass
