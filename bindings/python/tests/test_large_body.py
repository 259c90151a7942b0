"""Large bodies with a Content-Length read whole (``Client.request``), which hopsafe reads
straight into the ``bytes`` it returns: every byte in place, ``max_body_size`` kept, and a
body cut short failing typed."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

import hopsafe
from conftest import Lab

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
        # The connection went back to the pool: the next request reuses it.
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


class CutServer:
    """A raw HTTP/1.1 server announcing 4 MiB and closing after 1 MiB of it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % (4 << 20))
            conn.sendall(b"x" * (1 << 20))

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def cut() -> Iterator[CutServer]:
    s = CutServer()
    yield s
    s.close()


def test_a_large_body_cut_short_fails_typed(cut: CutServer) -> None:
    with hopsafe.Client(retry=None) as c, pytest.raises(hopsafe.TransportError) as e:
        c.get(cut.url)
    assert e.value.url == cut.url
