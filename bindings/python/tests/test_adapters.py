"""hopsafe underneath httpx and requests: the peer's own API, hopsafe's redirect rules."""

from __future__ import annotations

import asyncio
import hashlib
import socket

import httpx
import pytest
import requests

import hopsafe
import hopsafe.httpx
import hopsafe.requests
from conftest import Lab, header

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
