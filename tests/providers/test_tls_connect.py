"""TLS still connects after the plain-HTTP probe was added, even when the handshake is slow
enough for the probe to run: a TLS port never passes for a plain HTTP one."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
import time

import httpx
import pytest

from desk.providers.transport import LeanTransport

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    """A throwaway self-signed certificate for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    key, crt = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(crt), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return key, crt


class TLSServer:
    """Answers 200 "ok" over TLS after `handshake_delay_s`; a connection that opens with
    anything but a TLS hello (the probe's plain request) is closed unanswered."""

    def __init__(self, cert, handshake_delay_s: float) -> None:
        key, crt = cert
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(crt, key)
        self.delay = handshake_delay_s
        self.accepted = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def __enter__(self) -> TLSServer:
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        time.sleep(self.delay)  # a slow server: the client's probe runs meanwhile
        try:
            first = conn.recv(16, socket.MSG_PEEK)
            if not first.startswith(b"\x16"):
                conn.close()
                return
            with self.ctx.wrap_socket(conn, server_side=True) as tls:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += tls.recv(4096)
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        except OSError:
            conn.close()


@pytest.mark.parametrize("delay", [0.0, 1.5], ids=["fast-handshake", "slow-handshake"])
def test_tls_connects_whether_or_not_the_probe_ran(cert, delay):
    client_ctx = ssl.create_default_context(cafile=str(cert[1]))

    async def go(port: int) -> httpx.Response:
        async with httpx.AsyncClient(transport=LeanTransport(ssl_context=client_ctx)) as client:
            return await client.get(f"https://127.0.0.1:{port}/")

    with TLSServer(cert, delay) as server:
        response = asyncio.run(go(server.port))
    assert (response.status_code, response.text) == (200, "ok")
    assert server.accepted == (2 if delay else 1)  # the slow one was probed once, and not fooled by it
