"""Interpreter exit with AsyncClient calls in flight: their responses arrive while CPython
finalizes, and no runtime thread may wake the (gone) event loop then. Before the atexit hook
(src/exit.rs) about one exit in fifteen aborted ("PyGILState_Release: thread state ... must be
current", exit code 134)."""

from __future__ import annotations

import random
import subprocess
import sys

from conftest import Lab

RUNS = 15
CALLS = 64

CHILD = """
import asyncio, sys
import hopsafe

async def main():
    client = hopsafe.AsyncClient()
    for _ in range({calls}):
        asyncio.ensure_future(client.get(sys.argv[1]))
    await asyncio.sleep(0.05)  # returns with the calls in flight; the interpreter exits

asyncio.run(main())
"""


def test_exit_with_async_calls_in_flight_is_clean(lab: Lab) -> None:
    rng = random.Random(7)
    for run in range(RUNS):
        delays = [f"delay_ms:{rng.randrange(0, 300)}" for _ in range(CALLS)]
        _, url = lab.script([{"status": 200, "faults": delays}])
        child = subprocess.run([sys.executable, "-c", CHILD.format(calls=CALLS), url],
                               capture_output=True, text=True, timeout=60)
        assert child.returncode == 0, f"run {run}: exit {child.returncode}\n{child.stderr[-2000:]}"
        assert "Fatal Python error" not in child.stderr, child.stderr[-2000:]
