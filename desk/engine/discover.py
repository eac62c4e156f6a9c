"""Find model servers already running on this computer (loopback only); the provider
service adds them (desk.engine.services.providers.ProviderService.add_found).

Each candidate is probed once with a short timeout, by its protocol's own list-models
request (desk.providers.loopback): Ollama by `GET /api/tags`, the OpenAI-compatible servers
(LM Studio, llama.cpp's server, vLLM) by `GET /v1/models`. A closed port, a timeout or
an answer that is not the expected JSON means "not found" -- never an exception. Only
127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from desk.providers.loopback import LoopbackClient, loopback_client, served_models
from desk.providers.registry import default_base_url

HOST = "127.0.0.1"

# (provider name, provider kind, port): the servers' own default ports.
Candidate = tuple[str, str, int]
DEFAULT_CANDIDATES: tuple[Candidate, ...] = (
    ("ollama", "ollama", 11434),
    ("lmstudio", "openai", 1234),
    ("llamacpp", "openai", 8080),
    ("vllm", "openai", 8000),
)
SERVER_NAMES = {"ollama": "Ollama", "lmstudio": "LM Studio", "llamacpp": "llama.cpp", "vllm": "vLLM"}


@dataclass(frozen=True)
class Found:
    """A model server that answered: the provider it would become, and its models."""

    name: str  # the provider name it is added as ("ollama", "lmstudio", ...)
    kind: str  # the provider kind ("ollama" or "openai")
    base_url: str  # per SDK convention: Ollama without /v1, OpenAI-compatible with /v1
    models: tuple[str, ...]
    server: str  # a human label: "Ollama", "LM Studio", "llama.cpp", "vLLM"


def server_label(name: str) -> str:
    return SERVER_NAMES.get(name, name)


def describe_candidates(candidates: Sequence[Candidate] = DEFAULT_CANDIDATES) -> str:
    """'Ollama 11434, LM Studio 1234, ...' for messages saying where desk looked."""
    return ", ".join(f"{server_label(name)} {port}" for name, _, port in candidates)


def base_url_for(kind: str, port: int) -> str:
    """A local server's base URL keeps the path of its protocol's default one, as the SDKs
    do: Ollama's has none, an OpenAI-compatible server's ends in /v1."""
    return f"http://{HOST}:{port}" + urlsplit(default_base_url(kind)).path.rstrip("/")


async def _probe(client: LoopbackClient, candidate: Candidate, timeout: float) -> Found | None:
    name, kind, port = candidate
    if not 0 < int(port) < 65536:
        return None
    base_url = base_url_for(kind, port)
    models = await served_models(client, kind, base_url, timeout)
    if models is None:
        return None
    return Found(name, kind, base_url, models, server_label(name))


async def discover(candidates: Sequence[Candidate] = DEFAULT_CANDIDATES, timeout: float = 0.5) -> list[Found]:
    """Probe every candidate port on 127.0.0.1 at once; the servers that answered, in order."""
    async with loopback_client(timeout) as client:
        results = await asyncio.gather(*(_probe(client, c, timeout) for c in candidates))
    return [f for f in results if f is not None]


def with_models(found: Found, models: Sequence[str]) -> Found:
    return dataclasses.replace(found, models=tuple(models))
