"""How late a busy machine may be, for every test that times something.

A sleep or a hold is never early, so lower bounds in tests are exact. Upper bounds are not
about desk: a CI machine running other jobs delays any thread by tens of milliseconds and now
and then by hundreds (a 10 ms bound failed there at 10.4 ms). So behaviour tests bound from
above by the hold plus SLACK_S, which still catches a hold that is missing, doubled or
serialised when the test makes the difference larger than SLACK_S. desk's real timing error
is measured, and printed, by the benchmarks in tests/bench.
"""

from __future__ import annotations

import os

SLACK_S = float(os.environ.get("DESK_TEST_SLACK_S", "0.5"))
SLACK_MS = SLACK_S * 1000
