"""hopsafe underneath httpx and requests: the peer's own API, hopsafe's redirect rules."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import requests

import hopsafe
import hopsafe.httpx
import hopsafe.requests
from conftest import Lab, RawServer, header

BODY = b'{"order":"A-7"}'
SHA = hashlib.sha256(BODY).hexdigest()


def failover(lab: Lab) -> tuple[str, str]:
    """A POST that a 307 moves to another origin, where it is applied."""
    return lab.script([{"status": 307, "location": "{b}/s/{id}/1"}, {"status": 200, "apply": True}])


def check_failover(lab: Lab, sid: str) -> None:
    recs = lab.records(sid)
    assert [r["method"] for r in recs] == ["POST", "POST"]
    assert all(r["body_sha256"] == SHA for r in recs)
    assert header(recs[0], "authorization") == "Bearer t0ken"
    assert header(recs[1], "authorization") is None, "the credential crossed origins"
    key = header(recs[0], "idempotency-key")
    assert key and header(recs[1], "idempotency-key") == key
    assert lab.writes(sid)["applications"] == 1


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def test_httpx_client_on_hopsafe_keeps_the_post_through_a_307(lab: Lab) -> None:
    sid, url = failover(lab)
    transport = hopsafe.httpx.HTTPTransport(ca_pem=lab.ca_pem)
    with httpx.Client(transport=transport) as c:
        r = c.post(url, content=BODY, headers={"authorization": "Bearer t0ken"})
    assert r.status_code == 200 and r.json()["method"] == "POST"
    hops = r.extensions["hopsafe_history"]
    assert [h.status_code for h in hops] == [307]
    assert r.extensions["hopsafe_idempotency_key"]
    check_failover(lab, sid)


def test_httpx_async_client_on_hopsafe(lab: Lab) -> None:
    sid, url = failover(lab)

    async def go() -> httpx.Response:
        transport = hopsafe.httpx.AsyncHTTPTransport(ca_pem=lab.ca_pem)
        async with httpx.AsyncClient(transport=transport) as c:
            return await c.post(url, content=BODY, headers={"authorization": "Bearer t0ken"})

    r = asyncio.run(go())
    assert r.status_code == 200
    check_failover(lab, sid)


def test_httpx_sees_its_own_exceptions_with_the_hopsafe_cause() -> None:
    with httpx.Client(transport=hopsafe.httpx.HTTPTransport()) as c:
        with pytest.raises(httpx.ConnectError) as info:
            c.get(closed_port_url())
    assert isinstance(info.value.__cause__, hopsafe.ConnectError)


def test_requests_session_on_hopsafe_keeps_the_post_through_a_307(lab: Lab) -> None:
    sid, url = failover(lab)
    with requests.Session() as s:
        s.mount("http://", hopsafe.requests.Adapter(ca_pem=lab.ca_pem))
        s.mount("https://", hopsafe.requests.Adapter(ca_pem=lab.ca_pem))
        r = s.post(url, data=BODY, headers={"authorization": "Bearer t0ken"})
    assert r.status_code == 200 and r.json()["method"] == "POST"
    assert [h.status_code for h in r.hopsafe_history] == [307]
    check_failover(lab, sid)


def test_requests_sees_its_own_exceptions_with_the_hopsafe_cause() -> None:
    with requests.Session() as s:
        s.mount("http://", hopsafe.requests.Adapter())
        with pytest.raises(requests.exceptions.ConnectionError) as info:
            s.get(closed_port_url())
    assert isinstance(info.value.__cause__, hopsafe.ConnectError)


def test_requests_alone_sends_the_write_without_a_key(lab: Lab) -> None:
    """The peer alone, for contrast: requests re-sends a 307 POST, but with no idempotency
    key, so a retried failover could apply the write twice."""
    sid, url = failover(lab)
    with requests.Session() as s:
        r = s.post(url, data=BODY, headers={"authorization": "Bearer t0ken"})
    assert r.status_code == 200
    assert all(header(rec, "idempotency-key") is None for rec in lab.records(sid))


# Streamed responses through the peer's own API.

def pattern(n: int) -> bytes:
    """The test server's numbered lines (`body_bytes`): line i is i as 15 digits and \\n."""
    return b"".join(b"%015d\n" % i for i in range(n // 16 + 1))[:n]


def release(lab: Lab, sid: str) -> None:
    req = urllib.request.Request(f"{lab.origins['a']}/__scripts/{sid}/release", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


class Tally:
    """What a chunked read saw: chunk count, the largest chunk, the body's digest."""

    def __init__(self) -> None:
        self.count = self.size = self.largest = 0
        self.digest = hashlib.sha256()

    def add(self, chunk: bytes) -> None:
        self.count += 1
        self.size += len(chunk)
        self.largest = max(self.largest, len(chunk))
        self.digest.update(chunk)

    def check(self, size: int, largest: int) -> None:
        assert self.size == size
        assert self.digest.hexdigest() == hashlib.sha256(pattern(size)).hexdigest()
        # Never the whole body at once: it crosses into Python one bounded chunk at a time.
        assert self.largest <= largest and self.count >= size // largest


BIG = 24 << 20
HELD = 300_000


def test_httpx_stream_reads_hopsafe_chunk_by_chunk(lab: Lab) -> None:
    _, url = lab.script([{"body_bytes": BIG}])
    seen = Tally()
    with httpx.Client(transport=hopsafe.httpx.HTTPTransport(ca_pem=lab.ca_pem)) as c:
        with c.stream("GET", url) as r:
            assert r.status_code == 200 and not r.is_stream_consumed
            for chunk in r.iter_bytes():
                seen.add(chunk)
        # Read whole without stream(): the same transport, the whole body.
        assert c.get(url).content == pattern(BIG)
    seen.check(BIG, 1 << 20)


def test_httpx_stream_hands_over_the_first_chunk_before_the_rest_is_sent(lab: Lab) -> None:
    # The server holds the body after 1000 bytes until the client, having read them,
    # releases it: a transport that read the body whole would end with a cut body.
    sid, url = lab.script([{"body_bytes": HELD, "hold_after": 1000}])
    seen = Tally()
    with httpx.Client(transport=hopsafe.httpx.HTTPTransport(ca_pem=lab.ca_pem)) as c:
        with c.stream("GET", url) as r:
            for chunk in r.iter_raw():
                if not seen.count:
                    release(lab, sid)
                seen.add(chunk)
    seen.check(HELD, HELD - 1)


def test_httpx_async_stream_and_whole_read(lab: Lab) -> None:
    sid, url = lab.script([{"body_bytes": HELD, "hold_after": 1000}])
    seen = Tally()

    async def main() -> bytes:
        transport = hopsafe.httpx.AsyncHTTPTransport(ca_pem=lab.ca_pem)
        async with httpx.AsyncClient(transport=transport) as c:
            async with c.stream("GET", url) as r:
                async for chunk in r.aiter_bytes():
                    if not seen.count:
                        await asyncio.get_running_loop().run_in_executor(None, release, lab, sid)
                    seen.add(chunk)
            _, whole = lab.script([{"body_bytes": HELD}])
            return (await c.get(whole)).content

    assert asyncio.run(main()) == pattern(HELD)
    seen.check(HELD, HELD - 1)


def test_closing_the_httpx_response_aborts_the_hopsafe_transfer(endless: RawServer) -> None:
    with httpx.Client(transport=hopsafe.httpx.HTTPTransport()) as c, c.stream("GET", endless.url) as r:
        for chunk in r.iter_bytes():
            assert chunk
            break
    assert r.is_closed
    assert endless.closed.wait(30), "the server never saw the connection close"


def test_httpx_max_body_size_caps_what_the_transport_delivers(lab: Lab) -> None:
    _, url = lab.script([{"body_bytes": 200_000}])
    transport = hopsafe.httpx.HTTPTransport(ca_pem=lab.ca_pem, max_body_size=100_000)
    with httpx.Client(transport=transport) as c:
        with pytest.raises(httpx.TransportError) as info:
            c.get(url)
        assert isinstance(info.value.__cause__, hopsafe.ResponseTooLargeError)
        with pytest.raises(httpx.TransportError), c.stream("GET", url) as r:
            r.read()
        uncapped = {"hopsafe_max_body_size": None}
        with c.stream("GET", url, extensions=uncapped) as r:
            assert sum(len(b) for b in r.iter_bytes()) == 200_000


def test_httpx_request_extensions_reach_hopsafe(lab: Lab) -> None:
    _, url = lab.script([{"status": 307, "location": "{a}/s/{id}/1"}, {"status": 200}])
    with httpx.Client(transport=hopsafe.httpx.HTTPTransport(ca_pem=lab.ca_pem)) as c:
        r = c.post(url, content=BODY, extensions={"hopsafe_follow_redirects": False,
                                                  "hopsafe_idempotency_key": "k-ext"})
        assert r.status_code == 307 and r.extensions["hopsafe_idempotency_key"] == "k-ext"
        r = c.post(url, content=BODY, extensions={"hopsafe_idempotency_key": False})
        assert r.status_code == 200 and r.extensions["hopsafe_idempotency_key"] is None
        assert r.extensions["hopsafe_url"].endswith("/1") and r.extensions["hopsafe_method"] == "POST"


def test_httpx_streamed_upload_survives_a_307(lab: Lab) -> None:
    sid, url = failover(lab)
    transport = hopsafe.httpx.HTTPTransport(ca_pem=lab.ca_pem)
    with httpx.Client(transport=transport) as c:
        r = c.post(url, content=iter([BODY[:5], BODY[5:]]), headers={"authorization": "Bearer t0ken"})
    assert r.status_code == 200
    check_failover(lab, sid)


def test_httpx_async_streamed_upload_survives_a_307(lab: Lab) -> None:
    sid, url = failover(lab)

    async def body() -> AsyncIterator[bytes]:
        yield BODY[:5]
        yield BODY[5:]

    async def main() -> int:
        transport = hopsafe.httpx.AsyncHTTPTransport(ca_pem=lab.ca_pem)
        async with httpx.AsyncClient(transport=transport) as c:
            r = await c.post(url, content=body(), headers={"authorization": "Bearer t0ken"})
            return r.status_code

    assert asyncio.run(main()) == 200
    check_failover(lab, sid)


def requests_session(lab: Lab, **options: Any) -> requests.Session:
    s = requests.Session()
    adapter = hopsafe.requests.Adapter(ca_pem=lab.ca_pem, **options)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def test_requests_stream_reads_hopsafe_chunk_by_chunk(lab: Lab) -> None:
    _, url = lab.script([{"body_bytes": BIG}])
    seen = Tally()
    with requests_session(lab) as s:
        with s.get(url, stream=True) as r:
            for chunk in r.iter_content(chunk_size=256 * 1024):
                seen.add(chunk)
        assert s.get(url).content == pattern(BIG)  # read whole without stream=True
    seen.check(BIG, 256 * 1024)


def test_requests_stream_hands_over_the_first_chunk_before_the_rest_is_sent(lab: Lab) -> None:
    sid, url = lab.script([{"body_bytes": HELD, "hold_after": 1000}])
    seen = Tally()
    with requests_session(lab) as s, s.get(url, stream=True) as r:
        for chunk in r.iter_content(chunk_size=None):
            if not seen.count:
                release(lab, sid)
            seen.add(chunk)
    seen.check(HELD, HELD - 1)


def test_requests_raw_is_file_like(lab: Lab) -> None:
    _, url = lab.script([{"body_bytes": HELD}])
    with requests_session(lab) as s, s.get(url, stream=True) as r:
        assert r.raw.read(10) == pattern(10)
        assert r.raw.read(100_000) == pattern(100_010)[10:]
        assert r.raw.read() == pattern(HELD)[100_010:]
        assert r.raw.read(10) == b""


def test_closing_the_requests_response_aborts_the_hopsafe_transfer(endless: RawServer) -> None:
    with requests.Session() as s:
        s.mount("http://", hopsafe.requests.Adapter())
        with s.get(endless.url, stream=True) as r:
            assert next(r.iter_content(chunk_size=None))
    assert endless.closed.wait(30), "the server never saw the connection close"


def test_requests_history_and_final_request_in_requests_shape(lab: Lab) -> None:
    _, url = lab.script([{"status": 303, "location": "{b}/s/{id}/1"}, {"status": 200}])
    with requests_session(lab, max_body_size=100_000) as s:
        r = s.post(url, data=BODY)
    assert [(h.status_code, h.request.method, h.url) for h in r.history] == [(303, "POST", url)]
    assert r.request.method == "GET" and r.url == r.request.url and r.url.endswith("/1")
    assert r.reason == "OK"


def test_requests_max_body_size_caps_whole_reads_not_streams(lab: Lab) -> None:
    _, url = lab.script([{"body_bytes": 200_000}])
    with requests_session(lab, max_body_size=100_000) as s:
        with pytest.raises(requests.exceptions.RequestException) as info:
            s.get(url)
        assert isinstance(info.value.__cause__, hopsafe.ResponseTooLargeError)
        with s.get(url, stream=True) as r:
            assert sum(len(c) for c in r.iter_content(chunk_size=65536)) == 200_000
