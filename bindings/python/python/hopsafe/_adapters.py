"""What the peer adapters (hopsafe.httpx, hopsafe.requests) share."""

from __future__ import annotations

from collections.abc import Iterable

from ._errors import ResponseTooLargeError
from ._models import Response

# Connection-level fields the transport below decides for itself.
HOP_BY_HOP = frozenset(
    {"host", "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
     "upgrade", "content-length"}
)


def forwarded(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The peer's request headers hopsafe should send (everything but connection-level ones)."""
    return [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]


def too_large(r: Response, limit: int, why: str) -> ResponseTooLargeError:
    """The error of a body that grew past ``limit`` while the adapter passed it up."""
    return ResponseTooLargeError(f"response body from {r.url} is larger than {limit} bytes: {why}",
                                 url=r.url, history=r.history)
