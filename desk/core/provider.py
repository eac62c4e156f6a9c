"""A configured vendor endpoint, as the user set it up."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


_USERINFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*@")

CREDENTIALS_IN_URL = (
    "the base URL must not carry a user name or password (user:password@host): desk would "
    "store and show it; remove it from the URL and give the key with 'desk provider set-key "
    "NAME' or --key-env VAR (in the window: the API key field), which keeps it in the OS keyring"
)


def has_credentials(base_url: str) -> bool:
    """Whether a URL carries user info (user:password@ or token@) before its host."""
    return bool(_USERINFO.match(base_url.strip()))


def split_credentials(base_url: str) -> tuple[str, str | None]:
    """`base_url` without its user info, and the secret it held (the password, else a lone
    user name such as token@host), percent-decoded; (base_url, None) if it holds none."""
    from urllib.parse import unquote

    url = base_url.strip()
    found = _USERINFO.match(url)
    if not found:
        return base_url, None
    scheme = url.partition("://")[0]
    userinfo = url[len(scheme) + 3 : found.end() - 1]  # the match ends at the host's last '@'
    user, colon, password = userinfo.partition(":")
    secret = unquote(password if colon else user)
    return f"{scheme}://{url[found.end():]}", secret or None


def url_problem(base_url: str, kind: str = "", added_paths: Sequence[str] = ()) -> str | None:
    """Why `base_url` cannot work, in one sentence; None if it can. `added_paths` are the
    paths the protocol of `kind` adds itself (desk.providers.registry.base_url_problem
    passes them): a base URL already ending in one would double it."""
    from urllib.parse import urlsplit

    if has_credentials(base_url):  # first: every other message quotes the URL
        return CREDENTIALS_IN_URL
    if any(c.isspace() for c in base_url):
        return f"base URL {base_url!r} contains a space"
    try:
        parts = urlsplit(base_url)
        port = parts.port  # raises on a port that is not a number from 0 to 65535
    except ValueError as exc:
        return f"base URL {base_url!r} is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"base URL {base_url!r} must start with http:// or https:// and name a host"
    if port == 0:
        return f"base URL {base_url!r} has port 0"
    if parts.query or parts.fragment:
        return f"base URL {base_url!r} must not carry a query or fragment (for Azure, use --api-version)"
    path = parts.path.rstrip("/")
    for suffix in added_paths:
        if path.endswith(suffix):
            return (f"the {kind} base URL must stop before {suffix!r}: desk adds that path itself "
                    f"(try {base_url.rstrip('/')[: -len(suffix)] or base_url})")
    return None


def plain_http_to_remote(url: str) -> bool:
    """True when `url` is plain http to a host that is not this machine (a key would travel
    readable). Any loopback address counts as this machine, as do localhost and *.localhost."""
    import ipaddress
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    if parts.scheme.lower() != "http" or not parts.hostname:
        return False
    host = parts.hostname.lower()
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a DNS name other than localhost


def plain_http_warning(base_url: str) -> str | None:
    """The sentence that warns of a key sent in the clear; None when `base_url` is safe."""
    if plain_http_to_remote(base_url):
        return f"{base_url} is plain http to another host: an API key would travel unencrypted"
    return None


@dataclass(frozen=True)
class ProviderConfig:
    """An endpoint: its name (the NAME in NAME/MODEL), wire protocol and base URL.

    The API key is never part of it: it lives in the OS keyring, or in the environment
    variable named by `key_env`.
    """

    name: str
    kind: str
    base_url: str
    key_env: str | None = None
    api_version: str | None = None  # Azure OpenAI's api-version query parameter
    headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(
                f"provider name {self.name!r} must be 1-64 letters, digits, '.', '_' or '-' "
                "(no '/'), starting with a letter or digit"
            )
        # Which kinds exist is desk.providers.registry's to say (the one list of protocols).
        if not self.kind:
            raise ValueError("a provider needs a kind")
        if not re.match(r"^https?://[^/\s]+", self.base_url):
            raise ValueError(f"base URL {self.base_url!r} must start with http:// or https://")
