"""One sentence for an HTTP failure whose cause desk knows better than the vendor's body:
a redirect (desk never follows one), a refusal when no API key was configured, and a server
that cannot give structured output the way desk asks for it."""

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


def no_json_schema(said: str) -> str:
    """Why an OpenAI-compatible server refused a structured-output request, and what works."""
    return ("this server does not support OpenAI's json_schema structured output (llama-cpp-python's "
            "server takes only a response_format of text or json_object): run the model behind a server "
            "that supports json_schema (llama.cpp's llama-server, vLLM, or Ollama as provider kind ollama), "
            "or use desk's built-in model (desk local), which asks llama-cpp-python for JSON its own way; "
            f"the server said: {said}")
