"""hopsafe underneath requests: ``session.mount("https://", hopsafe.requests.Adapter())``.

hopsafe follows the redirects (307/308 keep the POST and its body, credentials stay home,
one idempotency key for the chain) and requests sees the final response;
``response.history`` holds the hops (requests' shape: a ``requests.Response`` per 3xx, its
``request`` the one hopsafe sent), ``response.request`` is the final request (method and URL
as hopsafe sent them), and ``response.hopsafe_history`` (:class:`hopsafe.Hop`) and
``response.hopsafe_idempotency_key`` carry the rest. ``session.get(url, stream=True)`` returns
at headers and reads hopsafe's streamed body as you ask: ``iter_content()``,
``iter_lines()``, or ``response.raw`` (file-like, with urllib3's ``stream()``); closing the
response aborts an unfinished transfer. Without ``stream=True`` the body is read whole
(capped by the client's ``max_body_size``).

hopsafe's errors become requests' (``ConnectionError``, ``SSLError``, ``ConnectTimeout``,
``ReadTimeout``, ``TooManyRedirects``...) with the hopsafe error as ``__cause__``. TLS,
proxies, retries and timeouts are the hopsafe client's (pass its options to the adapter, or a
client); requests' ``verify``, ``cert``, ``proxies`` and ``timeout`` arguments do not reach
it, and neither do per-request redirect settings (``allow_redirects`` applies to the redirects
hopsafe did not follow; configure following on the hopsafe client). Set a request's
idempotency key with an ``Idempotency-Key`` header. ``session.trust_env = False`` saves
requests' environment lookups on every request (about a third of the time of a small
request); hopsafe reads the proxy variables itself.

Needs requests: ``pip install hopsafe[requests]``.
"""

from __future__ import annotations

import http.client
import io
from collections.abc import Iterator
from typing import Any

import requests
import requests.adapters
import requests.exceptions
import requests.structures
import requests.utils

from ._adapters import forwarded
from ._client import _UNSET, Client
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
from ._models import Hop, Response

__all__ = ["Adapter"]


def _requests_error(e: HopsafeError, request: requests.PreparedRequest) -> Exception:
    """The requests exception code written against requests expects for ``e``."""
    message = str(e)
    kinds: list[tuple[type[HopsafeError], type[Exception]]] = [
        (TlsError, requests.exceptions.SSLError),
        (ConnectError, requests.exceptions.ConnectionError),
        (TransportError, requests.exceptions.ConnectionError),
        (TooManyRedirectsError, requests.exceptions.TooManyRedirects),
        (UnsupportedSchemeError, requests.exceptions.InvalidSchema),
        (InvalidUrlError, requests.exceptions.InvalidURL),
    ]
    if isinstance(e, TimeoutError):
        if getattr(e, "phase", None) == "connect":
            return requests.exceptions.ConnectTimeout(message, request=request)
        return requests.exceptions.ReadTimeout(message, request=request)
    for hopsafe_kind, requests_kind in kinds:
        if isinstance(e, hopsafe_kind):
            return requests_kind(message, request=request)
    return requests.exceptions.RequestException(message, request=request)


class _Raw(io.RawIOBase):
    """``response.raw`` of a streamed response: hopsafe's body, read from the network as you
    ask. ``read(n)`` returns n bytes (fewer at the end), ``read()`` the rest; ``stream(n)``
    (urllib3's, used by ``iter_content``) yields pieces of at most n bytes as they arrive, and
    the chunks as they come for ``None``."""

    def __init__(self, r: Response, request: requests.PreparedRequest) -> None:
        super().__init__()
        self._r, self._request = r, request
        self._chunks: Iterator[bytes] | None = None
        self._chunk, self._off = b"", 0
        self.status = r.status_code
        self.reason = http.client.responses.get(r.status_code, "")
        self.headers = _headers(r)
        self.decode_content = True  # hopsafe has decoded the body already

    def readable(self) -> bool:
        return True

    def _piece(self, amt: int | None) -> bytes:
        """Up to ``amt`` bytes of what has arrived, waiting for a chunk only when none is left;
        b"" at the end."""
        if self._off >= len(self._chunk):
            if self._chunks is None:
                self._chunks = self._r.iter_bytes()
            try:
                self._chunk, self._off = next(self._chunks, b""), 0
            except HopsafeError as e:
                raise _requests_error(e, self._request) from e
        start = self._off
        if start == 0 and (amt is None or amt >= len(self._chunk)):
            self._off = len(self._chunk)
            return self._chunk
        end = len(self._chunk) if amt is None else min(len(self._chunk), start + amt)
        self._off = end
        return self._chunk[start:end]

    def read(self, amt: int | None = None, decode_content: bool | None = None,  # type: ignore[override]
             cache_content: bool = False) -> bytes:
        if self.closed:
            return b""
        if amt is not None and amt >= 0:
            parts, left = [], amt
            while left > 0 and (piece := self._piece(left)):
                parts.append(piece)
                left -= len(piece)
            return b"".join(parts)
        return b"".join(iter(lambda: self._piece(None), b""))

    def read1(self, amt: int = -1) -> bytes:
        return b"" if self.closed else self._piece(None if amt < 0 else amt)

    def readinto(self, b: Any) -> int:
        piece = self.read1(len(b))
        b[: len(piece)] = piece
        return len(piece)

    def stream(self, amt: int | None = 2**16, decode_content: bool | None = None) -> Iterator[bytes]:
        while not self.closed and (piece := self._piece(amt)):
            yield piece

    def isclosed(self) -> bool:
        return self.closed

    def release_conn(self) -> None:
        self.close()

    def close(self) -> None:
        self._r.close()
        super().close()


def _headers(r: Response | Hop) -> requests.structures.CaseInsensitiveDict[str]:
    if isinstance(r, Hop):
        return requests.structures.CaseInsensitiveDict({"location": r.location} if r.location else {})
    # Repeated fields joined with ", ", as urllib3 does for requests.
    return requests.structures.CaseInsensitiveDict({k: r.headers[k] for k in r.headers})


def _hop(h: Hop) -> requests.Response:
    """A redirect hopsafe followed, in requests' shape."""
    resp = requests.Response()
    resp.status_code, resp.url = h.status_code, h.url
    resp.reason = http.client.responses.get(h.status_code, "")
    resp.headers = _headers(h)
    resp._content, resp._content_consumed = b"", True
    sent = requests.PreparedRequest()
    sent.method, sent.url, sent.headers = h.method, h.url, requests.structures.CaseInsensitiveDict()
    resp.request = sent
    return resp


class Adapter(requests.adapters.BaseAdapter):
    """A requests transport adapter on a :class:`hopsafe.Client` (given, or built from
    ``options``)."""

    def __init__(self, client: Client | None = None, **options: Any) -> None:
        super().__init__()
        if client is not None and options:
            raise TypeError("pass a hopsafe.Client or its options, not both")
        self._owned = client is None
        self.client = Client(**options) if client is None else client

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        # requests' default Accept-Encoding names deflate, which hopsafe does not decode:
        # hopsafe's own (the codings it decodes) goes instead. A caller's choice is kept.
        headers = [(k, v) for k, v in forwarded(request.headers.items())
                   if k.lower() != "accept-encoding" or v != requests.utils.DEFAULT_ACCEPT_ENCODING]
        body = request.body
        try:
            r = self.client._send(request.method or "GET", request.url or "", headers,
                                  body.encode("utf-8") if isinstance(body, str) else body or None,
                                  _UNSET, None, None, None, None, None, None, stream)
        except HopsafeError as e:
            raise _requests_error(e, request) from e
        resp = requests.Response()
        resp.status_code = r.status_code
        resp.reason = http.client.responses.get(r.status_code, "")
        resp.headers = _headers(r)
        resp.encoding = requests.utils.get_encoding_from_headers(resp.headers)
        resp.url = r.url
        resp.request = request
        if r.history:
            resp.history = [_hop(h) for h in r.history]
            resp.request = request.copy()
            resp.request.url = r.url
            if r.method != request.method:
                resp.request.method, resp.request.body = r.method, None
        resp.connection = self
        if stream:
            resp.raw = _Raw(r, request)
        else:
            resp.raw = io.BytesIO(r.content)
            resp._content = r.content
            resp._content_consumed = True
        resp.hopsafe_history = r.history  # type: ignore[attr-defined]
        resp.hopsafe_idempotency_key = r.idempotency_key  # type: ignore[attr-defined]
        return resp

    def close(self) -> None:
        if self._owned:
            self.client.close()
