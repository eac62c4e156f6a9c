"""A configured vendor endpoint, as the user set it up."""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("openai", "anthropic", "gemini", "ollama")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


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
        if self.kind not in KINDS:
            raise ValueError(f"unknown provider kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        if not re.match(r"^https?://[^/\s]+", self.base_url):
            raise ValueError(f"base URL {self.base_url!r} must start with http:// or https://")
