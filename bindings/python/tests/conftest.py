"""Starts one hopsafe-testserver (binary from $HOPSAFE_TESTSERVER) for the session."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import hopsafe


class Lab:
    """The running multi-origin test server and its control API."""

    def __init__(self, ready: dict[str, Any]) -> None:
        self.ready = ready
        self.origins: dict[str, str] = ready["origins"]
        self.ca_pem: str = ready["ca_pem"]

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.origins["a"] + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def script(self, steps: list[dict[str, Any]], origin: str = "a") -> tuple[str, str]:
        """Registers a script; returns (id, URL of step 0 on `origin`)."""
        sid = self._call("POST", "/__scripts", {"steps": steps})["id"]
        return sid, f"{self.origins[origin]}/s/{sid}/0"

    def records(self, sid: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/__scripts/{sid}/records")

    def writes(self, sid: str) -> dict[str, Any]:
        return self._call("GET", f"/__scripts/{sid}/writes")

    def client(self, **kw: Any) -> hopsafe.Client:
        kw.setdefault("retry", hopsafe.RetryPolicy(base_delay=0.001, max_delay=0.005))
        return hopsafe.Client(ca_pem=self.ca_pem, **kw)

    def async_client(self, **kw: Any) -> hopsafe.AsyncClient:
        kw.setdefault("retry", hopsafe.RetryPolicy(base_delay=0.001, max_delay=0.005))
        return hopsafe.AsyncClient(ca_pem=self.ca_pem, **kw)


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    binary = os.environ.get("HOPSAFE_TESTSERVER")
    if not binary:
        pytest.fail("set HOPSAFE_TESTSERVER to the hopsafe-testserver binary (cargo xtask test does)")
    proc = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    try:
        yield Lab(json.loads(line))
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def header(record: dict[str, Any], name: str) -> str | None:
    """First value of a header in a server record."""
    values = record["headers"].get(name.lower())
    return values[0] if values else None


class RawServer:
    """A raw HTTP/1.1 server for answers the lab cannot give (a body cut short, an endless
    one): it takes one connection, reads the request head, then lets ``answer`` write to the
    socket. ``closed`` is set when a write fails, i.e. when the client closed the connection."""

    def __init__(self, answer: Callable[[socket.socket], None]) -> None:
        self.answer = answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(4096)
            try:
                self.answer(conn)
            except OSError:
                self.closed.set()

    def close(self) -> None:
        self.sock.close()


def endless_body(conn: socket.socket) -> None:
    chunk = b"x" * 65536
    conn.sendall(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    while True:
        conn.sendall(b"10000\r\n" + chunk + b"\r\n")


@pytest.fixture
def endless() -> Iterator[RawServer]:
    """A server sending an endless body; ``closed`` is set once the client closed."""
    s = RawServer(endless_body)
    yield s
    s.close()
