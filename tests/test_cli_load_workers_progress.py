"""`desk load --workers N` draws its progress line while a step is still sending, from the
counts the workers send every half second, not only when the step ends."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time

import pytest

from tests.cli_helpers import ROOT, cli_env, desk
from tests.vendor_server import Script

PLANNED = 60
LINE = re.compile(r"(\d+)/(\d+) requests, (\d+) errors")


@pytest.mark.slow  # a CLI process and two workers for about 3 s
def test_progress_line_moves_while_the_workers_are_still_sending(srv, db):
    # 2 workers x 2 streams, 15 requests each one after another at ~200 ms: about 3 s of one step
    srv.set_default("slow", Script(text_pieces=["a"], first_token_delay_ms=200))
    assert desk("provider", "add", "p", "--kind", "openai", "--base-url", srv.base_url + "/v1", db=db).returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "desk", "load", "-m", "p/slow", "--prompt", "hi",
                             "--concurrency", "4", "--requests", str(PLANNED), "--workers", "2", "--no-warmup",
                             "--json"], env=cli_env(db), cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen: list[tuple[int, int, int]] = []  # (done, errors, requests the vendor had received by then)

    def read_stderr() -> None:
        assert proc.stderr is not None
        text = b""
        while chunk := os.read(proc.stderr.fileno(), 4096):
            sent = len(srv.requests)
            text += chunk
            *lines, rest = text.split(b"\r")
            text = rest
            for line in lines:
                if m := LINE.search(line.decode()):
                    seen.append((int(m[1]), int(m[3]), sent))
        if m := LINE.search(text.decode()):
            seen.append((int(m[1]), int(m[3]), len(srv.requests)))

    reader = threading.Thread(target=read_stderr)
    reader.start()
    assert proc.stdout is not None
    out = proc.stdout.read()  # (communicate() would read stderr too, from under the reader)
    proc.wait(120)
    reader.join(10)
    assert proc.returncode == 0, out
    assert seen and seen[-1][0] == PLANNED and seen[-1][1] == 0
    # lines drawn before the vendor had received every request: the step was still sending
    during = [s for s in seen if s[2] < PLANNED]
    assert len(during) >= 2, seen
    assert all(0 < done < PLANNED for done, _, _ in during), seen
    assert [done for done, _, _ in seen] == sorted(done for done, _, _ in seen)  # never backwards


def test_a_worker_counts_its_finished_requests_at_most_every_tally_period():
    from multiprocessing import Pipe

    from desk.core.load import RequestOutcome
    from desk.engine.services.load_workers import Courier

    theirs, mine = Pipe(duplex=False)
    courier = Courier(mine, every_s=30.0, tally_every_s=0.05)
    time.sleep(0.06)
    statuses = ["ok", "error", "interrupted", "ok"]
    for n, status in enumerate(statuses):
        courier.put(RequestOutcome(model="m", step=1, concurrency=4, seq=n, start_offset_ms=0.0, status=status), [])
    said = []
    while theirs.poll(0.2):
        said.append(theirs.recv())
    assert said == [("tally", 1, 1, 0)]  # the first finished one, then none sooner than 50 ms later
    time.sleep(0.06)
    courier.put(RequestOutcome(model="m", step=1, concurrency=4, seq=9, start_offset_ms=0.0, status="ok"), [])
    assert theirs.recv() == ("tally", 1, 4, 1)  # ok, error, ok, ok: interrupted ones are not counted
