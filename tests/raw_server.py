"""A loopback HTTP server whose answer is a function: for wire faults the scripted vendor
cannot express (a 20 MB line, a 200 MB body, a redirect). Blocking sockets, one thread
per connection; the client aborting mid-answer is expected and ignored."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable

# Called with the request head (request line + headers) and the connected socket.
Answer = Callable[[bytes, socket.socket], None]


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        data = b""
        while b"\r\n\r\n" not in data:
            got = sock.recv(65536)
            if not got:
                return
            data += got
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            got = sock.recv(65536)
            if not got:
                return
            body += got
        self.server.heads.append(head)  # type: ignore[attr-defined]
        try:
            self.server.answer(head, sock)  # type: ignore[attr-defined]
        except OSError:
            pass  # the client hung up first: that is often the point


class RawServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answer: Answer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.heads: list[bytes] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> RawServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


def head(status: str, ctype: str, *extra: str) -> bytes:
    """A response head that ends the body by closing the connection."""
    lines = [f"HTTP/1.1 {status}", f"Content-Type: {ctype}", "Connection: close", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def send_filled(sock: socket.socket, prefix: bytes, total: int, piece: bytes = b"a" * 65536) -> None:
    """`prefix`, then `piece` repeated until `total` bytes are sent (or the client leaves)."""
    sock.sendall(prefix)
    sent = len(prefix)
    while sent < total:
        sock.sendall(piece)
        sent += len(piece)
