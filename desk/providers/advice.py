"""One sentence for an HTTP failure whose cause desk knows better than the vendor's body:
a redirect (desk never follows one) and a refusal when no API key was configured."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from desk.core.provider import ProviderConfig


def redirect(status: int, location: str, request_url: httpx.URL, base_url: str) -> str:
    """Where the server sends desk, and the base URL that would go there directly."""
    target = request_url.join(location)
    base_path = urlsplit(base_url).path.rstrip("/")
    suffix = request_url.path[len(base_path):] if request_url.path.startswith(base_path) else ""
    if suffix and target.path.endswith(suffix):
        new_base = str(target.copy_with(path=target.path[: -len(suffix)] or "/", query=None, fragment=None))
        fix = f"set the base URL to {new_base.rstrip('/')}"
    else:
        fix = "set the base URL to where the server now answers"
    return (f"the server redirects to {target} (HTTP {status}) and desk does not follow redirects, "
            f"so that a key is never sent elsewhere: {fix}")


def missing_key(config: ProviderConfig) -> str:
    """Why a server refused a provider that has no key, and where to put one."""
    where = (f"${config.key_env} is not set and the OS keyring has none for it"
             if config.key_env else "the OS keyring has none for it")
    return (f"provider {config.name!r} has no API key ({where}): add one with "
            f"'desk provider set-key {config.name}' or under Providers")
