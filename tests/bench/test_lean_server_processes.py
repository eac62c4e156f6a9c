"""The lean benchmark server on several processes of one port: every request is logged
once, whichever process served it, and /__log clears what it returned."""

import httpx
import pytest

from tests.bench.bench_timing import start_server


@pytest.mark.slow
def test_several_processes_share_one_port_and_one_log():
    proc, port = start_server("--processes", "2", "--delay-ms", "5", "--pieces", "2", "--interval-ms", "1",
                              module="tests.bench.lean_server")
    try:
        ids, served_by = [], set()
        for _ in range(12):  # a new connection each: the kernel shares them among the processes
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
                r = client.post("/v1/chat/completions", json={"model": "m", "stream": True, "messages": []})
                ids.append(r.headers["x-request-id"])
                served_by.add(ids[-1].split("_")[1])
        assert len(set(ids)) == 12 and len(served_by) == 2
        log = httpx.get(f"http://127.0.0.1:{port}/__log").json()
        assert set(log) == set(ids)
        assert all(rec["read_at"] <= rec["first_token_written_at"] for rec in log.values())
        assert httpx.get(f"http://127.0.0.1:{port}/__log").json() == {}
    finally:
        proc.terminate()
        proc.wait(5)
