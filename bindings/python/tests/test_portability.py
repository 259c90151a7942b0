"""AsyncClient wakes its event loop through a socket the loop watches, and needs nothing but
call_soon_threadsafe on a loop that cannot watch file descriptors (as Windows' Proactor loop
cannot), cancellation included on both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from conftest import Lab
from hopsafe import _wake


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


def test_async_client_wakes_a_selector_loop_through_its_socket(lab: Lab) -> None:
    async def main() -> None:
        async with lab.async_client() as c:
            _, url = lab.script([{"status": 307, "location": "{b}/s/{id}/1"}, {"status": 200}])
            rs = await asyncio.gather(*(c.post(url, content=f"order-{i}") for i in range(64)))
            assert [r.json()["body"] for r in rs] == [f"order-{i}" for i in range(64)]
            waker = _wake._wakers[asyncio.get_running_loop()]
            assert isinstance(waker, _wake._LoopWaker)
            async with c.stream("GET", url.replace("/0", "/1")) as r:
                assert b"".join([chunk async for chunk in r.aiter_bytes()])
            _, slow = lab.script([{"status": 200, "faults": ["delay_ms:5000"]}])
            task = asyncio.ensure_future(c.get(slow))
            await asyncio.sleep(0.2)
            assert len(waker._waiting) == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The cancelled call's token is gone at once; nothing else waits.
            assert waker._waiting == {}

    loop = asyncio.SelectorEventLoop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


@pytest.mark.parametrize("wake", [None, 7, ("not a waker", 1)])
def test_native_start_refuses_a_wake_it_could_never_call(lab: Lab, wake: Any) -> None:
    """A wrong `wake` raises TypeError before anything is sent, instead of a call that
    finishes with nobody to tell (an await that never returns)."""
    sid, url = lab.script([{"status": 200}])

    async def main() -> None:
        async with lab.async_client() as c:
            native = c._native
            with pytest.raises(TypeError, match="wake must be"):
                native.start("GET", url, [], None, None, wake)
            with pytest.raises(TypeError, match="wake must be"):
                native.start_stream("POST", url, [], None, wake)
            # The client still works, and nothing reached the server.
            assert lab.records(sid) == []
            assert (await c.get(url)).status_code == 200

    asyncio.run(main())
