"""hopsafe: HTTP writes that survive redirects.

307/308 keep method, body and headers; 301/302 turn only POST into GET; 303 turns all but
HEAD into GET. Credentials are stripped on cross-origin hops and never restored. POST and
PATCH carry an Idempotency-Key that is the same on every hop and retry.
"""

from __future__ import annotations

from typing import Any

from . import _native, pinning
from ._client import AsyncClient, Client, RetryPolicy
from ._errors import (
    BodyError,
    BodyNotReplayableError,
    BodyStreamError,
    CancelledError,
    ConnectError,
    HopsafeError,
    HTTPStatusError,
    InsecureRedirectError,
    InvalidConfigError,
    InvalidHeaderError,
    InvalidInputError,
    InvalidLocationError,
    InvalidMethodError,
    InvalidUrlError,
    NetworkError,
    RedirectError,
    RedirectLoopError,
    RedirectRejectedError,
    ResponseTooLargeError,
    TimeoutError,
    TlsError,
    TooManyRedirectsError,
    TransportError,
    UnsupportedSchemeError,
    UpgradeRequiredError,
)
from ._models import Headers, Hop, Metrics, RedirectCount, Response, RetryCount, StrippedCount

__version__: str = _native.core_version()


def _check_native_version() -> None:
    """Refuses a native module built from another core version than this package."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = version("hopsafe")
    except PackageNotFoundError:  # running from a source tree
        return
    if package != __version__:
        raise ImportError(
            f"hopsafe {package} found a native core {__version__}: reinstall hopsafe so both match"
        )


_check_native_version()


def refresh_logging() -> None:
    """Re-reads the ``logging`` levels of the ``hopsafe.*`` loggers.

    The core reports each redirect followed (``hopsafe.hop``: status, both origins, the method
    change, each header dropped and why) and each retry (``hopsafe.retry``: the failure and the
    wait) at DEBUG level, never a credential, path or query. Levels are read once and cached:
    call this after changing them.
    """
    _native.refresh_logging()

__all__ = [
    "AsyncClient", "BodyError", "BodyNotReplayableError", "BodyStreamError", "CancelledError",
    "Client", "ConnectError", "Headers", "Hop", "HopsafeError", "HTTPStatusError",
    "InsecureRedirectError", "InvalidConfigError", "InvalidHeaderError", "InvalidInputError",
    "InvalidLocationError", "InvalidMethodError", "InvalidUrlError", "Metrics", "NetworkError",
    "RedirectCount", "RedirectError", "RedirectLoopError", "RedirectRejectedError", "Response",
    "ResponseTooLargeError", "RetryCount", "RetryPolicy", "StrippedCount", "TimeoutError", "TlsError", "TooManyRedirectsError",
    "TransportError", "UnsupportedSchemeError", "UpgradeRequiredError", "__version__", "delete",
    "get", "head", "options", "patch", "pinning", "post", "put", "refresh_logging", "request",
]

_default: Client | None = None


def _client() -> Client:
    global _default
    if _default is None:
        _default = Client()
    return _default


def request(method: str, url: str, **kw: Any) -> Response:
    """A one-off request with a shared default client."""
    return _client().request(method, url, **kw)


def get(url: str, **kw: Any) -> Response:
    """One-off GET."""
    return request("GET", url, **kw)


def head(url: str, **kw: Any) -> Response:
    """One-off HEAD."""
    return request("HEAD", url, **kw)


def options(url: str, **kw: Any) -> Response:
    """One-off OPTIONS."""
    return request("OPTIONS", url, **kw)


def post(url: str, **kw: Any) -> Response:
    """One-off POST."""
    return request("POST", url, **kw)


def put(url: str, **kw: Any) -> Response:
    """One-off PUT."""
    return request("PUT", url, **kw)


def patch(url: str, **kw: Any) -> Response:
    """One-off PATCH."""
    return request("PATCH", url, **kw)


def delete(url: str, **kw: Any) -> Response:
    """One-off DELETE."""
    return request("DELETE", url, **kw)
