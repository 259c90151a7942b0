"""Streamed request bodies on the sync Client: generators and file objects go to the core
chunk by chunk while the request runs; the core keeps a replay copy up to the replay limit."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import AsyncIterator, Iterator

import pytest

import hopsafe
from conftest import Lab

CHUNK = 16 * 1024


def chunks(data: bytes, produced: list[int] | None = None) -> Iterator[bytes]:
    for i in range(0, len(data), CHUNK):
        if produced is not None:
            produced.append(i)
        yield data[i:i + CHUNK]


def test_a_generator_is_streamed_and_replayed_on_307(lab: Lab) -> None:
    data = bytes(range(256)) * 800  # 200 KiB
    sid, url = lab.script([{"status": 307, "location": "{b}/s/{id}/1"}, {"status": 200, "apply": True}])
    with lab.client(replay_limit=1 << 20) as c:
        r = c.post(url, content=chunks(data))
    assert r.status_code == 200 and r.method == "POST" and len(r.history) == 1
    recs = lab.records(sid)
    want = hashlib.sha256(data).hexdigest()
    assert [(x["origin"], x["body_len"], x["body_sha256"]) for x in recs] == [
        ("a", len(data), want), ("b", len(data), want)]
    # Chunked on the wire (length unknown), so the server saw the stream, not one buffer.
    assert recs[0]["headers"].get("transfer-encoding") == ["chunked"]


def test_a_stream_past_the_replay_limit_fails_typed_and_is_never_truncated(lab: Lab) -> None:
    data = b"y" * (256 * 1024)
    sid, url = lab.script([{"status": 308, "location": "{b}/s/{id}/1"}, {"status": 200, "apply": True}])
    with lab.client(replay_limit=64 * 1024) as c, pytest.raises(hopsafe.BodyNotReplayableError) as info:
        c.put(url, content=chunks(data))
    assert len(info.value.history) == 1
    recs = lab.records(sid)
    assert len(recs) == 1 and recs[0]["body_len"] == len(data) and recs[0]["body_complete"]


def test_a_file_object_is_streamed(lab: Lab) -> None:
    data = b"z" * (300 * 1024)
    sid, url = lab.script([{"status": 200, "apply": True}])
    with lab.client() as c:
        r = c.post(url, content=io.BytesIO(data))
    assert r.status_code == 200 and r.json()["body_len"] == len(data)


def test_an_exception_in_the_generator_aborts_the_send_and_is_raised(lab: Lab) -> None:
    sid, url = lab.script([{"status": 200, "apply": True}])

    def broken() -> Iterator[bytes]:
        yield b"a" * CHUNK
        yield b"b" * CHUNK
        raise ValueError("disk went away")

    with lab.client() as c, pytest.raises(ValueError, match="disk went away"):
        c.post(url, content=broken())
    w = lab.writes(sid)
    assert w["applications"] == 0, "a cut body was applied"
    for rec in lab.records(sid):
        assert not rec["body_complete"], rec


def test_a_bad_chunk_type_is_a_type_error(lab: Lab) -> None:
    _, url = lab.script([{"status": 200}])
    with lab.client() as c, pytest.raises(TypeError, match="must yield bytes"):
        c.post(url, content=iter([b"ok", 42]))  # type: ignore[list-item]


def test_303_drops_the_stream_and_the_rest_is_not_needed(lab: Lab) -> None:
    data = b"q" * (128 * 1024)
    sid, url = lab.script([{"status": 303, "location": "/s/{id}/1"}, {"status": 200}])
    with lab.client(replay_limit=1024) as c:
        r = c.post(url, content=chunks(data))
    assert r.status_code == 200 and r.method == "GET"
    recs = lab.records(sid)
    assert recs[0]["body_len"] == len(data) and recs[1]["method"] == "GET" and recs[1]["body_len"] == 0


async def agen(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), CHUNK):
        await asyncio.sleep(0)
        yield data[i:i + CHUNK]


def test_async_client_streams_an_async_generator_and_replays_it_on_307(lab: Lab) -> None:
    data = bytes(range(256)) * 800
    sid, url = lab.script([{"status": 307, "location": "{b}/s/{id}/1"}, {"status": 200, "apply": True}])

    async def main() -> hopsafe.Response:
        async with lab.async_client(replay_limit=1 << 20) as c:
            return await c.post(url, content=agen(data))

    r = asyncio.run(main())
    assert r.status_code == 200 and len(r.history) == 1
    want = hashlib.sha256(data).hexdigest()
    assert [(x["origin"], x["body_sha256"]) for x in lab.records(sid)] == [("a", want), ("b", want)]


def test_async_client_raises_the_async_generators_error(lab: Lab) -> None:
    sid, url = lab.script([{"status": 200, "apply": True}])

    async def broken() -> AsyncIterator[bytes]:
        yield b"a" * CHUNK
        raise ValueError("sensor offline")

    async def main() -> None:
        async with lab.async_client() as c:
            await c.post(url, content=broken())

    with pytest.raises(ValueError, match="sensor offline"):
        asyncio.run(main())
    assert lab.writes(sid)["applications"] == 0


def test_cancelling_a_streamed_async_upload_applies_nothing(lab: Lab) -> None:
    sid, url = lab.script([{"status": 200, "apply": True}])

    async def endless() -> AsyncIterator[bytes]:
        while True:
            await asyncio.sleep(0.01)
            yield b"z" * CHUNK

    async def main() -> None:
        async with lab.async_client() as c:
            task = asyncio.ensure_future(c.post(url, content=endless()))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    assert lab.writes(sid)["applications"] == 0
    assert all(not r["body_complete"] for r in lab.records(sid))
