"""hopsafe underneath requests: ``session.mount("https://", hopsafe.requests.Adapter())``.

hopsafe follows the redirects (307/308 keep the POST and its body, credentials stay home,
one idempotency key for the chain) and requests sees the final response;
``response.hopsafe_history`` and ``response.hopsafe_idempotency_key`` carry what hopsafe
did. hopsafe's errors become requests' (``ConnectionError``, ``SSLError``, ``ConnectTimeout``,
``ReadTimeout``, ``TooManyRedirects``...) with the hopsafe error as ``__cause__``. TLS,
proxies, retries and timeouts are the hopsafe client's (pass its options to the adapter, or a
client); requests' ``verify``, ``cert``, ``proxies`` and ``timeout`` arguments do not reach it.

Needs requests: ``pip install hopsafe[requests]``.
"""

from __future__ import annotations

from typing import Any

import requests
import requests.adapters
import requests.exceptions
import requests.structures
import requests.utils

from ._adapters import forwarded
from ._client import Client
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
        headers = forwarded(request.headers.items())
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None and not isinstance(body, bytes):
            body = b"".join(body)  # a generator or file-like body, read whole
        try:
            r = self.client.request(request.method or "GET", request.url or "", headers=headers,
                                    content=body or None)
        except HopsafeError as e:
            raise _requests_error(e, request) from e
        resp = requests.Response()
        resp.status_code = r.status_code
        resp.headers = requests.structures.CaseInsensitiveDict(r.headers.multi_items())
        resp.encoding = requests.utils.get_encoding_from_headers(resp.headers)
        resp.url = r.url
        resp.request = request
        resp.connection = self
        resp._content = r.content
        resp._content_consumed = True
        resp.hopsafe_history = r.history  # type: ignore[attr-defined]
        resp.hopsafe_idempotency_key = r.idempotency_key  # type: ignore[attr-defined]
        return resp

    def close(self) -> None:
        if self._owned:
            self.client.close()
