"""Responses, headers and redirect hops."""

from __future__ import annotations

import json as _json
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from ._stream import LineSplitter, text_decoder, wait


class Headers(Mapping[str, str]):
    """Case-insensitive, multi-valued response headers. ``headers["x"]`` joins repeated
    values with ``", "``; ``get_list("x")`` returns them apart."""

    def __init__(self, items: list[tuple[str, str]] | None = None) -> None:
        self._items: list[tuple[str, str]] = [(k.lower(), v) for k, v in (items or [])]

    @classmethod
    def _lowered(cls, items: list[tuple[str, str]]) -> Headers:
        """Headers from pairs whose names are already in lower case (the core's), kept as is."""
        headers = cls.__new__(cls)
        headers._items = items
        return headers

    def __getitem__(self, name: str) -> str:
        values = self.get_list(name)
        if not values:
            raise KeyError(name)
        return ", ".join(values)

    def get_list(self, name: str) -> list[str]:
        """Every value of ``name``, in order."""
        key = name.lower()
        return [v for k, v in self._items if k == key]

    def __iter__(self) -> Iterator[str]:
        seen: dict[str, None] = {}
        for k, _ in self._items:
            seen.setdefault(k, None)
        return iter(seen)

    def __len__(self) -> int:
        return len({k for k, _ in self._items})

    def multi_items(self) -> list[tuple[str, str]]:
        """Every (name, value) pair, names in lower case."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass(frozen=True)
class Hop:
    """One redirect followed: the request sent and the 3xx that answered it."""

    method: str
    url: str
    status_code: int
    location: str | None
    idempotency_key: str | None
    attempts: int
    dropped: list[tuple[str, str]] = field(default_factory=list)
    """Headers removed before the next hop, as (name, reason): ``cross-origin`` or
    ``method-changed``."""

    @classmethod
    def _from(cls, d: dict[str, Any]) -> Hop:
        return cls(
            method=d["method"], url=d["url"], status_code=d["status_code"], location=d.get("location"),
            idempotency_key=d.get("idempotency_key"), attempts=d.get("attempts", 1),
            dropped=[(n, r) for n, r in d.get("dropped", [])],
        )


# One redirect pair: ``from`` is a keyword, hence the functional form.
RedirectCount = TypedDict("RedirectCount", {
    "status": int, "from": str, "to": str, "count": int,
    "first_seen_ms": int, "last_seen_ms": int, "age_ms": int,
})
RedirectCount.__doc__ = """Redirects followed from one origin to another with one status. Origins are
``scheme://host:port``; times are Unix milliseconds; ``age_ms`` is the time since
``first_seen_ms``, so a failover redirect still in place long after its incident stands out."""


class StrippedCount(TypedDict):
    """A header removed before a next hop: lower-case ``name`` (never a value) and ``reason``
    (``cross-origin`` or ``method-changed``)."""

    name: str
    reason: str
    count: int


class RetryCount(TypedDict):
    """Attempts sent again for one ``reason``: ``connect``, ``refused``, ``after_send`` (a reset
    or read timeout after sending), ``malformed``, ``tls_refused`` or ``status_NNN``."""

    reason: str
    count: int


class Metrics(TypedDict):
    """A client's counters since it was built (``Client.metrics()``).

    ``writes_resent_with_key`` counts writes re-sent after they may have reached the server,
    with an idempotency key the server honours; ``writes_delivered_twice`` counts such re-sends
    *without* one, which the retry rules never make: alert on anything but 0.
    ``redirect_pairs_overflow`` counts redirects to new pairs once 1024 pairs are kept."""

    redirects: list[RedirectCount]
    redirect_pairs_overflow: int
    headers_stripped: list[StrippedCount]
    retries: list[RetryCount]
    writes_resent_with_key: int
    writes_delivered_twice: int


class Response:
    """A response after every redirect was followed.

    From ``request()`` the body is read in full (``content``). From ``stream()`` it is read
    when you ask: ``iter_bytes()``, ``iter_text()``, ``iter_lines()`` or ``read()``
    (``aiter_*``/``aread()`` with ``AsyncClient``); leaving the ``with`` block, or
    ``close()``, before the end aborts the transfer.
    """

    def __init__(self, meta: Any, content: Any) -> None:
        # meta: the native metadata (_native.NativeMeta); headers and history are converted
        # on first use.
        (status_code, url, method, http_version, idempotency_key, attempts, write_accepted,
         redirected) = meta.fields()
        self.status_code: int = status_code
        self.url: str = url
        self.method: str = method
        self.http_version: str = http_version
        self.idempotency_key: str | None = idempotency_key
        self.attempts: int = attempts
        # A hop turned the write into a GET: HTTPStatusError reports it as write_accepted.
        self._write_accepted: bool = write_accepted
        self._meta = meta
        self._headers: Headers | None = None
        self._history: list[Hop] | None = None if redirected else []
        if isinstance(content, bytes):
            self._content: bytes | None = content
            self._body: Any = None
        else:  # a native body still to be read (Client.stream)
            self._content = None
            self._body = content
        self._consumed = False
        self._closed = self._body is None

    @property
    def headers(self) -> Headers:
        """The response headers (case-insensitive, multi-valued)."""
        if self._headers is None:
            self._headers = Headers._lowered(self._meta.headers())
        return self._headers

    @headers.setter
    def headers(self, value: Headers) -> None:
        self._headers = value

    @property
    def history(self) -> list[Hop]:
        """The redirects followed, in order."""
        if self._history is None:
            self._history = [Hop._from(h) for h in self._meta.history()]
        return self._history

    @history.setter
    def history(self, value: list[Hop]) -> None:
        self._history = value

    @property
    def content(self) -> bytes:
        """The whole body. For a streamed response, only after ``read()``/``aread()``."""
        if self._content is None:
            raise RuntimeError("the body of a streamed response was not read: call read() (or aread()) first")
        return self._content

    @property
    def text(self) -> str:
        """The body decoded with the charset of Content-Type (UTF-8 by default)."""
        try:
            return self.content.decode(self.encoding, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    @property
    def encoding(self) -> str:
        """The charset of Content-Type, ``utf-8`` when it names none."""
        for part in self.headers.get("content-type", "").split(";")[1:]:
            k, _, v = part.strip().partition("=")
            if k.lower() == "charset" and v:
                return v.strip('"')
        return "utf-8"

    def json(self) -> Any:
        """The body parsed as JSON."""
        return _json.loads(self.content)

    @property
    def is_success(self) -> bool:
        """True for 2xx."""
        return 200 <= self.status_code < 300

    @property
    def is_closed(self) -> bool:
        """True once the body was read to the end, failed, or was closed."""
        return self._closed

    @property
    def is_stream_consumed(self) -> bool:
        """True once iteration over a streamed body started."""
        return self._consumed

    def raise_for_status(self) -> Response:
        """Raises :class:`HTTPStatusError` for 4xx and 5xx; returns self otherwise."""
        if self.status_code >= 400:
            from ._errors import HTTPStatusError

            kind = "Client" if self.status_code < 500 else "Server"
            raise HTTPStatusError(f"{kind} error {self.status_code} for {self.url}", response=self)
        return self

    # Streamed bodies, blocking (Client.stream). Waiting for a chunk releases the GIL.

    def read(self) -> bytes:
        """Reads the rest of the body and returns it whole (``ResponseTooLargeError`` past the
        client's ``max_body_size``)."""
        if self._content is None:
            self._content = self._finish(*self._open_body("read").read())
        return self._content

    def iter_bytes(self) -> Iterator[bytes]:
        """The body chunk by chunk, as it arrives (never capped by ``max_body_size``)."""
        if self._content is not None:
            if self._content:
                yield self._content
            return
        body = self._open_body("iterate")
        self._consumed = True
        while True:
            chunk = self._chunk(*body.next())
            if chunk is None:
                return
            yield chunk

    def iter_text(self) -> Iterator[str]:
        """The body as text chunks, decoded with the response's ``encoding``."""
        decoder = text_decoder(self.encoding)
        for chunk in self.iter_bytes():
            text = decoder.decode(chunk)
            if text:
                yield text
        text = decoder.decode(b"", final=True)
        if text:
            yield text

    def iter_lines(self) -> Iterator[str]:
        """The body line by line (``\n``, ``\r\n`` or ``\r``; line endings removed), lines
        cut across chunks put back together."""
        lines = LineSplitter()
        for text in self.iter_text():
            yield from lines.feed(text)
        yield from lines.flush()

    def close(self) -> None:
        """Ends the response: aborts the transfer unless the body was read to the end."""
        if self._body is not None:
            self._body.close()
        self._closed = True

    # Streamed bodies, asyncio (AsyncClient.stream).

    async def aread(self) -> bytes:
        """Reads the rest of the body and returns it whole (``ResponseTooLargeError`` past the
        client's ``max_body_size``)."""
        if self._content is None:
            body = self._open_body("read")
            self._content = self._finish(*await wait(body, body.start_read))
        return self._content

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body chunk by chunk, as it arrives (never capped by ``max_body_size``)."""
        if self._content is not None:
            if self._content:
                yield self._content
            return
        body = self._open_body("iterate")
        self._consumed = True
        while True:
            # A chunk already here is taken without a trip through the event loop.
            ready = body.try_next()
            if ready is None:
                ready = await wait(body, body.start_next)
            chunk = self._chunk(*ready)
            if chunk is None:
                return
            yield chunk

    async def aiter_text(self) -> AsyncIterator[str]:
        """The body as text chunks, decoded with the response's ``encoding``."""
        decoder = text_decoder(self.encoding)
        async for chunk in self.aiter_bytes():
            text = decoder.decode(chunk)
            if text:
                yield text
        text = decoder.decode(b"", final=True)
        if text:
            yield text

    async def aiter_lines(self) -> AsyncIterator[str]:
        """The body line by line, like ``iter_lines``."""
        lines = LineSplitter()
        async for text in self.aiter_text():
            for line in lines.feed(text):
                yield line
        for line in lines.flush():
            yield line

    async def aclose(self) -> None:
        """Ends the response: aborts the transfer unless the body was read to the end."""
        self.close()

    def _open_body(self, what: str) -> Any:
        if self._closed:
            raise RuntimeError(f"cannot {what} the body: the response is closed")
        if self._consumed:
            raise RuntimeError(f"cannot {what} the body: it is already being iterated (or was)")
        return self._body

    def _chunk(self, chunk: bytes | None, error: str | None) -> bytes | None:
        if error is not None:
            self._closed = True
            from ._errors import from_native

            raise from_native(_json.loads(error))
        if chunk is None:
            self._closed = True
        return chunk

    def _finish(self, data: bytes | None, error: str | None) -> bytes:
        self._chunk(data, error)
        self._closed = True
        return data or b""

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}] {self.method} {self.url}>"
