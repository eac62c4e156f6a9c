"""VendorServer.unstall: a streamed answer held after its headers goes on when the test says
so (and reset() makes stalls hold again)."""

from __future__ import annotations

import threading

import httpx
import pytest

from tests.vendor_server import Script, VendorServer

OA = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True}


def test_a_stalled_answer_goes_on_when_unstalled():
    with VendorServer() as srv, httpx.Client(base_url=srv.base_url, timeout=10) as c:
        srv.set_default("gpt-4o-mini", Script(stall_after_headers=True))
        got: list[str] = []

        def read():
            with c.stream("POST", "/v1/chat/completions", json=OA) as r:
                got.append(r.read().decode())

        reader = threading.Thread(target=read)
        reader.start()
        srv.held(1, 10)
        assert not got
        srv.unstall()
        reader.join(10)
        assert "Hello" in got[0] and "[DONE]" in got[0]

        srv.reset()
        srv.set_default("gpt-4o-mini", Script(stall_after_headers=True))
        with httpx.Client(base_url=srv.base_url, timeout=httpx.Timeout(5, read=0.3)) as quick:
            with pytest.raises(httpx.ReadTimeout), quick.stream("POST", "/v1/chat/completions", json=OA) as r:
                r.read()
