"""A loopback forward HTTP proxy, as a user behind a corporate proxy has: it takes plain-HTTP
requests in absolute form (`POST http://host:port/path HTTP/1.1`), sends each on to its
origin in origin form over one upstream connection per client connection, and pipes the
answers back. Blocking sockets, threads; it counts what it forwarded. A host under the
reserved .test domain (RFC 6761) is this machine: tests name their servers so to be proxied
(desk sends loopback addresses direct) without any name lookup leaving the machine."""

from __future__ import annotations

import socket
import socketserver
import threading
from urllib.parse import urlsplit


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while got := src.recv(65536):
            dst.sendall(got)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        client: socket.socket = self.request
        upstream: socket.socket | None = None
        data = b""
        try:
            while True:
                while b"\r\n\r\n" not in data:
                    got = client.recv(65536)
                    if not got:
                        return
                    data += got
                head, _, data = data.partition(b"\r\n\r\n")
                line, *fields = head.split(b"\r\n")
                method, target, version = line.split(b" ", 2)
                length = sum(int(f.partition(b":")[2]) for f in fields
                             if f.partition(b":")[0].strip().lower() == b"content-length")
                while len(data) < length:
                    got = client.recv(65536)
                    if not got:
                        return
                    data += got
                body, data = data[:length], data[length:]
                url = urlsplit(target.decode("latin-1"))
                if upstream is None:
                    host = "127.0.0.1" if (url.hostname or "").endswith(".test") else url.hostname
                    upstream = socket.create_connection((host, url.port or 80))
                    threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
                path = (url.path or "/") + (f"?{url.query}" if url.query else "")
                self.server.forwarded.append(f"{method.decode()} {path}")  # type: ignore[attr-defined]
                upstream.sendall(b" ".join([method, path.encode("latin-1"), version]) + b"\r\n"
                                 + b"\r\n".join(fields) + b"\r\n\r\n" + body)
        except OSError:
            pass  # either side hung up
        finally:
            if upstream is not None:
                upstream.close()


class ForwardProxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.forwarded: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> ForwardProxy:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
