"""Minimum-version pinning on a real WSGI server, and the ASGI middleware, with real clients."""

from __future__ import annotations

import asyncio
import json
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

import hopsafe
from hopsafe.pinning import AsgiPinning, Policy, WsgiPinning

POLICY = """
unknown = "deny_writes"
[[rules]]
sdk = "acme-python"
minimum = "2.5.0"
methods = "writes"
path_prefix = "/v1/"
"""


class Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def pinned_server():
    applied = []

    def app(environ, start_response):
        applied.append(environ["REQUEST_METHOD"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"applied"]

    server = make_server("127.0.0.1", 0, WsgiPinning(app, Policy(POLICY)), handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", applied
    server.shutdown()


def test_old_sdk_writes_are_refused_with_upgrade_required(pinned_server) -> None:
    base, applied = pinned_server
    old = hopsafe.Client(sdk_name="acme-python", sdk_version="2.4.0")
    with pytest.raises(hopsafe.UpgradeRequiredError) as e:
        old.post(base + "/v1/orders", json={"a": 1})
    assert (e.value.minimum_version, e.value.current_version) == ("2.5.0", "2.4.0")
    assert applied == []
    assert old.get(base + "/v1/orders").status_code == 200
    for version in ["2.5.0", "2.10.0"]:
        new = hopsafe.Client(sdk_name="acme-python", sdk_version=version)
        assert new.post(base + "/v1/orders", json={"a": 1}).status_code == 200
    assert applied == ["GET", "POST", "POST"]
    rc = hopsafe.Client(sdk_name="acme-python", sdk_version="2.5.0-rc.1")
    with pytest.raises(hopsafe.UpgradeRequiredError):
        rc.put(base + "/v1/orders", content=b"x")


def test_malformed_identity_gets_a_clear_problem(pinned_server) -> None:
    base, _ = pinned_server
    r = hopsafe.Client().post(base + "/v1/orders", content=b"x", headers={"Client-SDK": "garbage("})
    assert r.status_code == 400
    problem = r.json()
    assert problem["type"] == "urn:hopsafe:problem:sdk-identity-malformed" and "malformed" in problem["detail"]


def test_asgi_middleware_refuses_and_passes() -> None:
    calls = []

    async def app(scope, receive, send):
        calls.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    pinned = AsgiPinning(app, Policy(POLICY))
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    def scope(method: str, version: str) -> dict:
        sdk = f'n="acme-python", v="{version}"'.encode()
        return {"type": "http", "method": method, "path": "/v1/x", "headers": [(b"client-sdk", sdk)]}

    asyncio.run(pinned(scope("POST", "2.4.0"), receive, send))
    assert sent[0]["status"] == 426 and calls == []
    assert json.loads(sent[1]["body"])["minimum_version"] == "2.5.0"
    sent.clear()
    asyncio.run(pinned(scope("POST", "2.6.0"), receive, send))
    assert sent[0]["status"] == 200 and calls == ["/v1/x"]


def test_bad_policies_are_refused() -> None:
    with pytest.raises(hopsafe.InvalidConfigError):
        Policy('[[rules]]\nsdk = "a"\nminimum = "one"')
    with pytest.raises(hopsafe.InvalidConfigError):
        Policy("{}", format="yaml")
