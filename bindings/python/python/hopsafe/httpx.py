"""hopsafe underneath httpx: ``httpx.Client(transport=hopsafe.httpx.HTTPTransport())``.

hopsafe follows the redirects (307/308 keep the POST and its body, credentials stay home,
one idempotency key for the chain) and httpx sees the final response; its
``response.extensions`` carry ``hopsafe_history`` (the hops, as :class:`hopsafe.Hop`),
``hopsafe_idempotency_key``, and ``hopsafe_url`` / ``hopsafe_method`` (the final request:
httpx keeps ``response.url`` and ``response.request`` at the request it sent). Bodies stream
both ways: ``with client.stream(...) as r: r.iter_bytes()`` reads hopsafe's streamed
response chunk by chunk (closing the response aborts the transfer), ``client.get()`` reads it
whole, and a streamed request body is handed to hopsafe as it is read.

Per request, ``extensions={"hopsafe_idempotency_key": "k-1" | False,
"hopsafe_follow_redirects": False, "hopsafe_max_redirects": 3, "hopsafe_timeout": 2.0,
"hopsafe_max_body_size": None}`` override the hopsafe client's settings (httpx's own ``follow_redirects`` applies to the
redirects hopsafe did not follow). hopsafe's errors become httpx's (``httpx.ConnectError``,
``httpx.ReadTimeout``, ``httpx.TooManyRedirects``...) with the hopsafe error as
``__cause__``. TLS, proxies, retries and timeouts are the hopsafe client's (pass its options
to the transport, or a client); httpx's own ``verify``/``timeout`` settings do not reach it.
The transport cannot tell ``client.get()`` from ``client.stream()``, so the client's
``max_body_size`` caps both; pass ``extensions={"hopsafe_max_body_size": None}`` to a
``client.stream()`` whose body you read in chunks and do not want capped.

Needs httpx: ``pip install hopsafe[httpx]``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from ._adapters import forwarded, too_large
from ._client import _UNSET, AsyncClient, Client
from ._errors import (
    ConnectError,
    HopsafeError,
    InvalidUrlError,
    TimeoutError,
    TlsError,
    TooManyRedirectsError,
    TransportError,
    UnsupportedSchemeError,
)
from ._models import Response

__all__ = ["AsyncHTTPTransport", "HTTPTransport"]

# Request extensions read by the transport, and the hopsafe request argument each sets.
_OPTIONS = {"hopsafe_idempotency_key": "idempotency_key", "hopsafe_follow_redirects": "follow_redirects",
            "hopsafe_max_redirects": "max_redirects", "hopsafe_timeout": "timeout"}
_CAPPED = "the httpx transport cannot tell a streamed read from a whole one, so max_body_size caps both"


def _arguments(request: httpx.Request, content: Any) -> dict[str, Any]:
    """hopsafe's request arguments for an httpx request (its per-request extensions included)."""
    ext = request.extensions
    args = {name: ext.get(key) for key, name in _OPTIONS.items()}
    return dict(args, method=request.method, url=str(request.url), content=content, json=_UNSET,
                params=None, retry=None, stream=True,
                headers=forwarded(request.headers.multi_items()))


def _response(r: Response, request: httpx.Request, stream: Any) -> httpx.Response:
    return httpx.Response(
        r.status_code,
        headers=r.headers.multi_items(),
        stream=stream,
        request=request,
        extensions={
            "http_version": (r.http_version or "HTTP/1.1").encode(),
            "hopsafe_history": r.history,
            "hopsafe_idempotency_key": r.idempotency_key,
            "hopsafe_url": r.url,
            "hopsafe_method": r.method,
        },
    )


def _httpx_error(e: HopsafeError, request: httpx.Request) -> Exception:
    """The httpx exception code written against httpx expects for ``e``."""
    message = str(e)
    if isinstance(e, TimeoutError):
        if getattr(e, "phase", None) == "connect":
            return httpx.ConnectTimeout(message, request=request)
        return httpx.ReadTimeout(message, request=request)
    if isinstance(e, (ConnectError, TlsError)):
        return httpx.ConnectError(message, request=request)
    if isinstance(e, TransportError):
        return httpx.ReadError(message, request=request)
    if isinstance(e, TooManyRedirectsError):
        return httpx.TooManyRedirects(message, request=request)
    if isinstance(e, UnsupportedSchemeError):
        return httpx.UnsupportedProtocol(message, request=request)
    if isinstance(e, InvalidUrlError):
        return httpx.InvalidURL(message)
    return httpx.TransportError(message, request=request)


def _limit(request: httpx.Request, client: Client | AsyncClient) -> int | None:
    """The cap on the body passed up: the request's ``hopsafe_max_body_size``, else the client's."""
    return request.extensions.get("hopsafe_max_body_size", client.max_body_size)


class _Counter:
    """Counts the bytes passed up and fails past the client's ``max_body_size``."""

    def __init__(self, r: Response, limit: int | None) -> None:
        self.r, self.limit, self.seen = r, limit, 0

    def add(self, chunk: bytes) -> bytes:
        self.seen += len(chunk)
        if self.limit is not None and self.seen > self.limit:
            self.r.close()
            raise too_large(self.r, self.limit, _CAPPED)
        return chunk


class _ByteStream(httpx.SyncByteStream):
    """hopsafe's streamed body as httpx reads it; closing it aborts an unfinished transfer."""

    def __init__(self, r: Response, request: httpx.Request, limit: int | None) -> None:
        self._r, self._request, self._count = r, request, _Counter(r, limit)

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._r.iter_bytes():
                yield self._count.add(chunk)
        except HopsafeError as e:
            raise _httpx_error(e, self._request) from e

    def close(self) -> None:
        self._r.close()


class _AsyncByteStream(httpx.AsyncByteStream):
    """The asyncio twin of :class:`_ByteStream`."""

    def __init__(self, r: Response, request: httpx.Request, limit: int | None) -> None:
        self._r, self._request, self._count = r, request, _Counter(r, limit)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._r.aiter_bytes():
                yield self._count.add(chunk)
        except HopsafeError as e:
            raise _httpx_error(e, self._request) from e

    async def aclose(self) -> None:
        await self._r.aclose()


def _content(request: httpx.Request) -> Any:
    """The request body: bytes when httpx has them, else httpx's stream (hopsafe reads it as
    it sends, keeping a replay copy up to the client's ``replay_limit``)."""
    try:
        return request.content or None
    except httpx.RequestNotRead:
        return request.stream


class HTTPTransport(httpx.BaseTransport):
    """A blocking httpx transport on a :class:`hopsafe.Client` (given, or built from ``options``)."""

    def __init__(self, client: Client | None = None, **options: Any) -> None:
        if client is not None and options:
            raise TypeError("pass a hopsafe.Client or its options, not both")
        self._owned = client is None
        self.client = Client(**options) if client is None else client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            r = self.client._send(**_arguments(request, _content(request)))
        except HopsafeError as e:
            raise _httpx_error(e, request) from e
        return _response(r, request, _ByteStream(r, request, _limit(request, self.client)))

    def close(self) -> None:
        if self._owned:
            self.client.close()


class AsyncHTTPTransport(httpx.AsyncBaseTransport):
    """An asyncio httpx transport on a :class:`hopsafe.AsyncClient`."""

    def __init__(self, client: AsyncClient | None = None, **options: Any) -> None:
        if client is not None and options:
            raise TypeError("pass a hopsafe.AsyncClient or its options, not both")
        self._owned = client is None
        self.client = AsyncClient(**options) if client is None else client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            r = await self.client._send(**_arguments(request, _content(request)))
        except HopsafeError as e:
            raise _httpx_error(e, request) from e
        return _response(r, request, _AsyncByteStream(r, request, _limit(request, self.client)))

    async def aclose(self) -> None:
        if self._owned:
            await self.client.aclose()
