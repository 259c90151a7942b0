"""hopsafe underneath httpx: ``httpx.Client(transport=hopsafe.httpx.HTTPTransport())``.

hopsafe follows the redirects (307/308 keep the POST and its body, credentials stay home,
one idempotency key for the chain) and httpx sees the final response; its
``response.extensions`` carry ``hopsafe_history`` (the hops, as :class:`hopsafe.Hop`) and
``hopsafe_idempotency_key``. hopsafe's errors become httpx's (``httpx.ConnectError``,
``httpx.ReadTimeout``, ``httpx.TooManyRedirects``...) with the hopsafe error as
``__cause__``. TLS, proxies, retries and timeouts are the hopsafe client's (pass its options
to the transport, or a client); httpx's own ``verify``/``timeout`` settings do not reach it.

Needs httpx: ``pip install hopsafe[httpx]``.
"""

from __future__ import annotations

from typing import Any

import httpx

from ._adapters import forwarded
from ._client import AsyncClient, Client
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



def _headers(request: httpx.Request) -> list[tuple[str, str]]:
    return forwarded(request.headers.multi_items())


def _response(r: Response, request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        r.status_code,
        headers=r.headers.multi_items(),
        content=r.content,
        request=request,
        extensions={
            "http_version": (r.http_version or "HTTP/1.1").encode(),
            "hopsafe_history": r.history,
            "hopsafe_idempotency_key": r.idempotency_key,
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


class HTTPTransport(httpx.BaseTransport):
    """A blocking httpx transport on a :class:`hopsafe.Client` (given, or built from ``options``)."""

    def __init__(self, client: Client | None = None, **options: Any) -> None:
        if client is not None and options:
            raise TypeError("pass a hopsafe.Client or its options, not both")
        self._owned = client is None
        self.client = Client(**options) if client is None else client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        try:
            r = self.client.request(request.method, str(request.url), headers=_headers(request),
                                    content=body or None)
        except HopsafeError as e:
            raise _httpx_error(e, request) from e
        return _response(r, request)

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
        body = await request.aread()
        try:
            r = await self.client.request(request.method, str(request.url), headers=_headers(request),
                                          content=body or None)
        except HopsafeError as e:
            raise _httpx_error(e, request) from e
        return _response(r, request)

    async def aclose(self) -> None:
        if self._owned:
            await self.client.aclose()
