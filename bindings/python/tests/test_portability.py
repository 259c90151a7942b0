"""AsyncClient needs nothing from its event loop but call_soon_threadsafe: it runs on a loop
that cannot watch file descriptors (as Windows' Proactor loop cannot), cancellation included."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from conftest import Lab


class NoFdWatchingLoop(asyncio.SelectorEventLoop):
    """A loop whose public add_reader/add_writer fail, like the Proactor loop's."""

    def add_reader(self, *args: Any) -> None:
        raise NotImplementedError("this loop cannot watch file descriptors")

    def add_writer(self, *args: Any) -> None:
        raise NotImplementedError("this loop cannot watch file descriptors")


def test_async_client_runs_on_a_loop_without_fd_watching(lab: Lab) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"ab", b"cd"):
            yield part

    async def main() -> None:
        async with lab.async_client() as c:
            _, url = lab.script([{"status": 307, "location": "{b}/s/{id}/1"}, {"status": 200}])
            rs = await asyncio.gather(*(c.post(url, content=f"order-{i}") for i in range(20)))
            assert [r.json()["body"] for r in rs] == [f"order-{i}" for i in range(20)]
            _, url = lab.script([{"status": 200}])
            streamed = await c.post(url, content=chunks())
            assert streamed.json()["body"] == "abcd"
            _, slow = lab.script([{"status": 200, "faults": ["delay_ms:5000"]}])
            task = asyncio.ensure_future(c.get(slow))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    loop = NoFdWatchingLoop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
