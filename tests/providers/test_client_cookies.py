"""The shared client keeps a cookie a server sets, as httpx's does, and passes over the
answers that set none without the cookie jar's work (a load run's thousands of answers)."""

from __future__ import annotations

import asyncio
import http.cookiejar
import socket

from desk.providers.http import make_client
from tests.raw_server import RawServer


class CountingJar(http.cookiejar.CookieJar):
    def __init__(self) -> None:
        super().__init__()
        self.extracted = 0

    def extract_cookies(self, response, request) -> None:  # type: ignore[no-untyped-def]
        self.extracted += 1
        super().extract_cookies(response, request)


def answer_with(head_extra: bytes):
    def answer(_head: bytes, sock: socket.socket) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + head_extra + b"\r\nok")
    return answer


def get_twice(base_url: str) -> tuple[int, dict[str, str]]:
    async def go() -> tuple[int, dict[str, str]]:
        async with make_client() as client:
            jar = CountingJar()
            client.cookies.jar = jar
            for _ in range(2):
                assert (await client.get(base_url + "/x")).text == "ok"
            return jar.extracted, dict(client.cookies)
    return asyncio.run(go())


def test_answers_without_a_cookie_skip_the_cookie_jar():
    with RawServer(answer_with(b"")) as srv:
        extracted, cookies = get_twice(srv.base_url)
    assert (extracted, cookies) == (0, {})


def test_a_cookie_the_server_sets_is_still_kept():
    with RawServer(answer_with(b"Set-Cookie: session=abc; Path=/\r\n")) as srv:
        extracted, cookies = get_twice(srv.base_url)
    assert (extracted, cookies) == (2, {"session": "abc"})
