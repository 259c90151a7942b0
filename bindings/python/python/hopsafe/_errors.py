"""The exception hierarchy: one class per core error, grouped as the core groups them.

Every class is named after the core's variant with ``Error`` appended::

    HopsafeError                    url, history, write_accepted
    ├── InvalidInputError           the request or an option cannot be used as given
    │   ├── InvalidUrlError
    │   ├── InvalidHeaderError
    │   ├── InvalidMethodError
    │   ├── InvalidConfigError
    │   └── UnsupportedSchemeError  (a URL or a Location that is not http or https)
    ├── NetworkError                no usable answer came back over the connection
    │   ├── ConnectError
    │   ├── TlsError
    │   ├── TimeoutError            phase; also a builtin TimeoutError
    │   └── TransportError
    ├── RedirectError               the redirect chain breaks a rule
    │   ├── TooManyRedirectsError
    │   ├── RedirectLoopError
    │   ├── InsecureRedirectError
    │   ├── InvalidLocationError
    │   └── RedirectRejectedError
    ├── BodyError                   the request or response body
    │   ├── BodyNotReplayableError
    │   ├── BodyStreamError
    │   └── ResponseTooLargeError
    ├── UpgradeRequiredError        sdk, minimum_version, current_version
    ├── CancelledError
    └── HTTPStatusError             raised by Response.raise_for_status(), never by a request
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._models import Hop, Response


class HopsafeError(Exception):
    """Root of every hopsafe error. ``url`` and ``history`` give the context.

    ``write_accepted`` is true when a hop turned the write into a GET (a 303, or a 301/302
    answering a POST): the server accepted the write before this error, so sending the
    request again may apply it twice.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        history: list[Hop] | None = None,
        write_accepted: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.url = url
        self.history: list[Hop] = history or []
        self.write_accepted = write_accepted


class InvalidInputError(HopsafeError):
    """The request or an option cannot be used as given: fix the call, do not retry it."""


class NetworkError(HopsafeError):
    """No usable answer came back over the connection (see ``write_accepted`` and the class
    for whether the server may have processed the request)."""


class RedirectError(HopsafeError):
    """The redirect chain breaks a rule (length, loop, downgrade, Location, policy)."""


class BodyError(HopsafeError):
    """The request body could not be sent again or read, or the response body is too large."""


class InvalidUrlError(InvalidInputError):
    """The URL could not be parsed or is not absolute."""


class InvalidHeaderError(InvalidInputError):
    """A header name or value is not valid HTTP (CR, LF, NUL, non-ASCII)."""


class InvalidMethodError(InvalidInputError):
    """The method is not a valid HTTP token."""


class InvalidConfigError(InvalidInputError):
    """A client option is invalid."""


class UnsupportedSchemeError(InvalidInputError):
    """A URL or Location uses a scheme other than http or https."""


class ConnectError(NetworkError):
    """No connection could be opened; nothing was sent on this hop (see ``history`` and
    ``write_accepted`` for the hops before it)."""


class TlsError(NetworkError):
    """The TLS handshake failed."""


class TimeoutError(NetworkError, builtins.TimeoutError):
    """A deadline passed (``phase`` is ``connect``, ``read`` or ``total``). Also a builtin
    ``TimeoutError``, so ``except TimeoutError`` catches it."""

    phase: str | None = None


class TransportError(NetworkError):
    """The connection failed after the request may have been sent."""


class TooManyRedirectsError(RedirectError):
    """The chain was longer than ``max_redirects``."""


class RedirectLoopError(RedirectError):
    """A redirect pointed back to a request already made in this chain."""


class InsecureRedirectError(RedirectError):
    """An https URL redirected to http and downgrades are not allowed."""


class InvalidLocationError(RedirectError):
    """A Location header that cannot be followed."""


class RedirectRejectedError(RedirectError):
    """The redirect policy refused a hop."""


class BodyNotReplayableError(BodyError):
    """A 307/308 needs the body again but it was a stream larger than the replay buffer."""


class BodyStreamError(BodyError):
    """Reading the request body failed."""


class ResponseTooLargeError(BodyError):
    """The response body was larger than the limit."""


class UpgradeRequiredError(HopsafeError):
    """The server requires a newer SDK (426). See ``minimum_version``/``current_version``."""

    minimum_version: str | None = None
    current_version: str | None = None
    sdk: str | None = None


class CancelledError(HopsafeError):
    """The request was cancelled."""


class HTTPStatusError(HopsafeError):
    """Raised by ``Response.raise_for_status()`` for 4xx and 5xx responses."""

    def __init__(self, message: str, *, response: Response) -> None:
        super().__init__(message, url=response.url, history=response.history,
                         write_accepted=response._write_accepted)
        self.response = response


# The core's error names (``"name": "Connect"`` in the native layer's error documents) to classes:
# the class is the core name with ``Error`` appended.
_BY_NAME: dict[str, type[HopsafeError]] = {
    cls.__name__.removesuffix("Error"): cls
    for cls in (
        InvalidUrlError, InvalidHeaderError, InvalidMethodError, InvalidConfigError,
        ConnectError, TlsError, TimeoutError, TransportError, TooManyRedirectsError,
        RedirectLoopError, InsecureRedirectError, UnsupportedSchemeError, InvalidLocationError,
        BodyNotReplayableError, BodyStreamError, ResponseTooLargeError, RedirectRejectedError,
        UpgradeRequiredError, CancelledError,
    )
}


def from_native(doc: dict[str, Any]) -> HopsafeError:
    """Builds the exception for an error document from the native layer."""
    from ._models import Hop

    cls = _BY_NAME.get(doc.get("name", ""), HopsafeError)
    history = [Hop._from(h) for h in doc.get("history") or []]
    err = cls(
        doc.get("message", "hopsafe error"),
        url=doc.get("url"),
        history=history,
        write_accepted=bool(doc.get("write_accepted", False)),
    )
    for attr in ("phase", "minimum_version", "current_version", "sdk"):
        if attr in doc:
            setattr(err, attr, doc[attr])
    return err
