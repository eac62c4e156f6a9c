"""A step run when a store is opened: a user name or password that an older desk kept in a
provider's base URL (http://user:password@host) leaves the providers table.

The secret moves to the OS keyring as the provider's key when it has none yet; otherwise
(a key is already set, or no keyring can keep it) it is dropped. Either way the URL is
stored without it, so it is never shown, exported or merged again, and the returned
notes say what happened, once: the next opening finds nothing to do. The store layer
refuses such URLs but cannot do this itself, as it never talks to the keyring.
"""

from __future__ import annotations

from dataclasses import replace

from desk.core.provider import has_credentials, split_credentials
from desk.engine.keys import KeyStoreError, get_api_key, set_api_key
from desk.store.db import Store
from desk.store.errors import StoreError


def secure_stored_urls(store: Store) -> list[str]:
    """Take credentials out of every stored base URL; one note per provider changed."""
    notes = []
    for config in store.providers.all():
        if not has_credentials(config.base_url):
            continue
        clean, secret = split_credentials(config.base_url)
        if secret is None:
            fate = "the user name in its base URL was removed"
        elif get_api_key(config):
            fate = "the password in its base URL was removed (it already has a key)"
        else:
            try:
                set_api_key(config.name, secret)
                fate = "the password in its base URL was moved to the OS keyring as its key"
            except KeyStoreError:
                fate = ("the password in its base URL was removed, and no OS keyring can keep it: give the "
                        "key through an environment variable (--key-env VAR, or the provider's form)")
        try:
            store.providers.update(replace(config, base_url=clean))
        except StoreError as exc:  # a read-only store: the URL stays, and this is said each time
            notes.append(f"provider {config.name}: its base URL holds a password that could not be "
                         f"removed from the store ({exc})")
            continue
        notes.append(f"provider {config.name}: {fate}; its base URL is now {clean}")
    return notes
