"""Streamed responses (Client.stream / AsyncClient.stream) on real sockets: chunks as they
arrive, lines across chunk boundaries, an SSE-style body delivered event by event, early
exits that abort the transfer, and max_body_size on buffered reads only."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import threading
import urllib.request

import pytest

import hopsafe
from conftest import Lab, RawServer

LINE = 16


def pattern(n: int) -> bytes:
    """The test server's numbered lines (`body_bytes`): line i is i as 15 digits and \\n."""
    lines = b"".join(b"%015d\n" % i for i in range(n // LINE + 1))
    return lines[:n]


def release(lab: Lab, sid: str) -> None:
    req = urllib.request.Request(f"{lab.origins['a']}/__scripts/{sid}/release", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def test_a_large_download_streams_chunk_by_chunk(lab: Lab) -> None:
    size = 48 << 20
    _, url = lab.script([{"body_bytes": size}])
    digest = hashlib.sha256()
    count = largest = 0
    with lab.client() as c, c.stream("GET", url) as r:
        assert r.status_code == 200 and not r.is_closed
        for chunk in r.iter_bytes():
            assert isinstance(chunk, bytes)
            digest.update(chunk)
            count += len(chunk)
            largest = max(largest, len(chunk))
        assert r.is_closed
    assert count == size
    # One chunk at a time crosses into Python, never the body.
    assert largest <= 1 << 20
    assert digest.hexdigest() == hashlib.sha256(pattern(size)).hexdigest()


def test_read_and_content_of_a_streamed_response(lab: Lab) -> None:
    _, url = lab.script([{"body": "hello, stream"}])
    with lab.client() as c, c.stream("GET", url) as r:
        with pytest.raises(RuntimeError, match="read"):
            _ = r.content
        assert r.read() == b"hello, stream"
        assert r.text == "hello, stream"
        assert list(r.iter_bytes()) == [b"hello, stream"]
    _, url = lab.script([{"body": "abc"}])
    with lab.client() as c, c.stream("GET", url) as r:
        assert next(r.iter_bytes()) == b"abc"
        with pytest.raises(RuntimeError, match="iterated"):
            r.read()


def test_iter_lines_joins_lines_cut_across_chunks(lab: Lab) -> None:
    # The hold cuts the body after "two\r": that \r\n arrives in two chunks, and the line
    # before it is handed over before the rest is released.
    body = "one\r\ntwo\r\nthree\rfour\n\r\nlast"
    sid, url = lab.script([{"body": body, "hold_after": len("one\r\ntwo\r")}])
    lines = []
    with lab.client() as c, c.stream("GET", url) as r:
        for i, line in enumerate(r.iter_lines()):
            lines.append(line)
            if i == 0:
                release(lab, sid)
    assert lines == ["one", "two", "three", "four", "", "last"]


def test_the_line_splitter_at_every_cut() -> None:
    from hopsafe._stream import LineSplitter

    text = "a\r\nbb\n\nccc\r\rd\r\n"
    want = ["a", "bb", "", "ccc", "", "d"]
    for i in range(len(text) + 1):
        for j in range(i, len(text) + 1):
            s = LineSplitter()
            got = s.feed(text[:i]) + s.feed(text[i:j]) + s.feed(text[j:]) + s.flush()
            assert got == want, (i, j)


def test_iter_text_decodes_characters_cut_across_chunks(lab: Lab) -> None:
    body = "héllo wörld"
    cut = body.encode().index(b"\xa9")  # inside the two bytes of "é"
    sid, url = lab.script([{"body": body, "hold_after": cut,
                            "headers": {"content-type": "text/plain; charset=utf-8"}}])
    with lab.client() as c, c.stream("GET", url) as r:
        parts = []
        for part in r.iter_text():
            parts.append(part)
            if len(parts) == 1:
                release(lab, sid)
    assert "".join(parts) == body and parts[0] == "h"


def test_an_sse_event_arrives_before_the_server_sends_the_next(lab: Lab) -> None:
    first = "event: tick\ndata: 1\n\n"
    # The server holds everything after the first event until the client, having received
    # that event, releases it: a client that waited for more would end with a cut body.
    sid, url = lab.script([{"body": first + "event: tick\ndata: 2\n\n",
                            "headers": {"content-type": "text/event-stream"},
                            "hold_after": len(first)}])
    events: list[list[str]] = []
    current: list[str] = []
    with lab.client() as c, c.stream("GET", url) as r:
        for line in r.iter_lines():
            if line:
                current.append(line)
                continue
            events.append(current)
            current = []
            if len(events) == 1:
                release(lab, sid)
    assert events == [["event: tick", "data: 1"], ["event: tick", "data: 2"]]


HELD_SIZE = 300_000


def read_held_body_in_a_thread(lab: Lab, c: hopsafe.Client) -> tuple[str, threading.Thread, list[int]]:
    """Starts a thread streaming a body the server holds after its first 1000 bytes; returns
    once the thread has its first chunk (and waits in the core for the rest). Returns the
    script id (to release the rest), the thread and the sizes of the chunks it read."""
    sid, url = lab.script([{"body_bytes": HELD_SIZE, "hold_after": 1000}])
    got: list[int] = []
    first = threading.Event()

    def read() -> None:
        with c.stream("GET", url) as r:
            for chunk in r.iter_bytes():
                got.append(len(chunk))
                first.set()

    t = threading.Thread(target=read)
    t.start()
    assert first.wait(30)
    return sid, t, got


def test_the_gil_is_released_while_a_chunk_is_awaited(lab: Lab) -> None:
    with lab.client() as c:
        sid, t, got = read_held_body_in_a_thread(lab, c)
        # This thread runs Python (urllib) while the reader waits in the core for the rest.
        release(lab, sid)
        t.join(30)
    assert sum(got) == HELD_SIZE


def test_a_thread_waiting_on_a_held_body_does_not_hold_up_the_clients_other_calls(lab: Lab) -> None:
    # A blocking client's calls run on the threads that make them: while one thread waits in
    # the core for the rest of a held body, another thread's requests on the same client
    # (other connections of its pool) still go through.
    with lab.client() as c:
        sid, t, got = read_held_body_in_a_thread(lab, c)
        for _ in range(20):
            assert c.get(f"{lab.origins['a']}/echo").status_code == 200
        release(lab, sid)
        t.join(30)
    assert sum(got) == HELD_SIZE


def test_leaving_the_block_early_aborts_the_transfer(endless: RawServer) -> None:
    with hopsafe.Client() as c, c.stream("GET", endless.url) as r:
        for chunk in r.iter_bytes():
            assert chunk
            break
    assert r.is_closed
    # The endless body would keep the server writing forever; it sees the connection close.
    assert endless.closed.wait(30), "the server never saw the connection close"
    with pytest.raises(RuntimeError, match="closed"):
        r.read()


def test_leaving_the_async_block_early_aborts_the_transfer(endless: RawServer) -> None:
    async def main() -> None:
        async with hopsafe.AsyncClient() as c, c.stream("GET", endless.url) as r:
            async for chunk in r.aiter_bytes():
                assert chunk
                break

    asyncio.run(main())
    assert endless.closed.wait(30), "the server never saw the connection close"


def test_cancelling_the_task_reading_a_stream_aborts_the_transfer(endless: RawServer) -> None:
    async def main() -> None:
        got = asyncio.Event()

        async def read() -> None:
            async with hopsafe.AsyncClient() as c, c.stream("GET", endless.url) as r:
                async for _ in r.aiter_bytes():
                    got.set()

        task = asyncio.ensure_future(read())
        await got.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert endless.closed.wait(30), "the server never saw the connection close"


def test_async_stream_lines_and_sse(lab: Lab) -> None:
    first = "data: 1\n\n"
    sid, url = lab.script([{"body": first + "data: 2\n\n", "hold_after": len(first)}])

    async def main() -> list[str]:
        lines = []
        async with lab.async_client() as c, c.stream("GET", url) as r:
            async for line in r.aiter_lines():
                lines.append(line)
                if len(lines) == 2:
                    await asyncio.get_running_loop().run_in_executor(None, release, lab, sid)
        return lines

    assert asyncio.run(main()) == ["data: 1", "", "data: 2", ""]


def test_max_body_size_caps_buffered_reads_not_streams(lab: Lab) -> None:
    size = 200_000
    _, url = lab.script([{"body_bytes": size}])
    with lab.client(max_body_size=100_000) as c:
        with pytest.raises(hopsafe.ResponseTooLargeError, match="100000.*stream") as e:
            c.get(url)
        assert e.value.url == url
        with c.stream("GET", url) as r, pytest.raises(hopsafe.ResponseTooLargeError):
            r.read()
        with c.stream("GET", url) as r:
            assert sum(len(b) for b in r.iter_bytes()) == size
        assert len(lab.client().get(url).content) == size  # no limit by default

    async def main() -> None:
        async with lab.async_client(max_body_size=100_000) as c:
            with pytest.raises(hopsafe.ResponseTooLargeError):
                await c.get(url)
            async with c.stream("GET", url) as r:
                with pytest.raises(hopsafe.ResponseTooLargeError):
                    await r.aread()
            async with c.stream("GET", url) as r:
                assert sum([len(b) async for b in r.aiter_bytes()]) == size

    asyncio.run(main())


def test_a_stream_failing_mid_body_raises_typed(lab: Lab) -> None:
    _, url = lab.script([{"body_bytes": 1 << 20, "faults": ["reset_mid_body"]}])
    with lab.client() as c, pytest.raises(hopsafe.TransportError), c.stream("GET", url) as r:
        for _ in r.iter_bytes():
            pass


def test_an_async_large_download_arrives_byte_exact(lab: Lab) -> None:
    # Chunks already here are taken without a trip through the event loop, the others
    # awaited: the body must come out whole and in order either way.
    size = 24 << 20
    _, url = lab.script([{"body_bytes": size}])

    async def main() -> tuple[str, int, int]:
        digest = hashlib.sha256()
        count = largest = 0
        async with lab.async_client() as c, c.stream("GET", url) as r:
            async for chunk in r.aiter_bytes():
                assert type(chunk) is bytes and chunk
                digest.update(chunk)
                count += len(chunk)
                largest = max(largest, len(chunk))
            assert r.is_closed
        return digest.hexdigest(), count, largest

    digest, count, largest = asyncio.run(main())
    assert count == size
    assert largest <= 1 << 20
    assert digest == hashlib.sha256(pattern(size)).hexdigest()


def test_an_async_stream_cut_short_raises_typed(lab: Lab) -> None:
    def announce_4_mib_send_1(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % (4 << 20))
        conn.sendall(b"x" * (1 << 20))

    server = RawServer(announce_4_mib_send_1)

    async def main() -> int:
        got = 0
        async with hopsafe.AsyncClient(retry=None) as c, c.stream("GET", server.url) as r:
            with pytest.raises(hopsafe.TransportError):
                async for chunk in r.aiter_bytes():
                    got += len(chunk)
            assert r.is_closed
        return got

    try:
        assert asyncio.run(main()) <= 1 << 20
    finally:
        server.close()
