"""Large bodies with a Content-Length read whole (``Client.request``, ``AsyncClient.request``),
which hopsafe reads straight into the ``bytes`` it returns: every byte in place,
``max_body_size`` kept, and a body cut short failing typed."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

import hopsafe
from conftest import Lab, RawServer

# At and past the size from which the body is read into the returned bytes directly.
DIRECT = 256 << 10


def pattern(n: int) -> bytes:
    """Numbered 16-byte lines, so a byte out of place shows."""
    return b"".join(b"%015d\n" % i for i in range(n // 16 + 1))[:n]


@pytest.mark.parametrize("size", [DIRECT - 1, DIRECT, 600_000])
def test_a_content_length_body_arrives_whole_and_in_order(lab: Lab, size: int) -> None:
    body = pattern(size)
    _, url = lab.script([{"body": body.decode()}])
    with lab.client() as c:
        r = c.get(url)
        assert r.headers["content-length"] == str(size)
        assert type(r.content) is bytes
        assert r.content == body
        # The client goes on working after a body read this way.
        assert c.get(lab.origins["a"] + f"/bytes/{size}").content == b"x" * size


def test_max_body_size_caps_a_large_content_length_body(lab: Lab) -> None:
    size = 1 << 20
    url = lab.origins["a"] + f"/bytes/{size}"
    with lab.client(max_body_size=size) as c:
        assert len(c.get(url).content) == size  # at the limit is within it
    with lab.client(max_body_size=size - 1) as c:
        with pytest.raises(hopsafe.ResponseTooLargeError) as e:
            c.get(url)
        assert e.value.url == url


def test_head_of_a_large_resource_has_no_body(lab: Lab) -> None:
    with lab.client() as c:
        r = c.request("HEAD", lab.origins["a"] + f"/bytes/{4 << 20}")
        assert r.headers["content-length"] == str(4 << 20)
        assert r.content == b""


def announce_4_mib_send_1(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % (4 << 20))
    conn.sendall(b"x" * (1 << 20))


@pytest.fixture
def cut() -> Iterator[RawServer]:
    """A server announcing 4 MiB and closing after 1 MiB of it."""
    s = RawServer(announce_4_mib_send_1)
    yield s
    s.close()


def test_a_large_body_cut_short_fails_typed(cut: RawServer) -> None:
    with hopsafe.Client(retry=None) as c, pytest.raises(hopsafe.TransportError) as e:
        c.get(cut.url)
    assert e.value.url == cut.url


# AsyncClient reads these bodies the same way: into the bytes it returns, off the event loop.


@pytest.mark.parametrize("size", [DIRECT - 1, DIRECT, 600_000])
def test_async_a_content_length_body_arrives_whole_and_in_order(lab: Lab, size: int) -> None:
    body = pattern(size)
    _, url = lab.script([{"body": body.decode()}])

    async def main() -> tuple[bytes, bytes]:
        async with lab.async_client() as c:
            first = (await c.get(url)).content
            return first, (await c.get(lab.origins["a"] + f"/bytes/{size}")).content

    first, again = asyncio.run(main())
    assert type(first) is bytes
    assert first == body
    assert again == b"x" * size


def test_async_max_body_size_caps_a_large_content_length_body(lab: Lab) -> None:
    size = 1 << 20
    url = lab.origins["a"] + f"/bytes/{size}"

    async def get(cap: int) -> bytes:
        async with lab.async_client(max_body_size=cap) as c:
            return (await c.get(url)).content

    assert len(asyncio.run(get(size))) == size
    with pytest.raises(hopsafe.ResponseTooLargeError) as e:
        asyncio.run(get(size - 1))
    assert e.value.url == url


def test_async_a_large_body_cut_short_fails_typed(cut: RawServer) -> None:
    async def main() -> None:
        async with hopsafe.AsyncClient(retry=None) as c:
            await c.get(cut.url)

    with pytest.raises(hopsafe.TransportError) as e:
        asyncio.run(main())
    assert e.value.url == cut.url


def test_async_cancelling_a_large_read_leaves_the_client_working(lab: Lab) -> None:
    async def main() -> bytes:
        async with lab.async_client() as c:
            task = asyncio.ensure_future(c.get(lab.origins["a"] + f"/bytes/{32 << 20}"))
            await asyncio.sleep(0.005)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return (await c.get(lab.origins["a"] + f"/bytes/{DIRECT}")).content

    assert asyncio.run(main()) == b"x" * DIRECT
