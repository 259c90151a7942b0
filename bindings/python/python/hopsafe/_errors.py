"""The exception hierarchy: one class per core error, with the core's names."""

from __future__ import annotations

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


class InvalidUrl(HopsafeError):
    """The URL could not be parsed or is not absolute."""


class InvalidHeader(HopsafeError):
    """A header name or value is not valid HTTP (CR, LF, NUL, non-ASCII)."""


class InvalidMethod(HopsafeError):
    """The method is not a valid HTTP token."""


class InvalidConfig(HopsafeError):
    """A client option is invalid."""


class Connect(HopsafeError):
    """No connection could be opened; nothing was sent on this hop (see ``history`` and
    ``write_accepted`` for the hops before it)."""


class Tls(HopsafeError):
    """The TLS handshake failed."""


class Timeout(HopsafeError):
    """A deadline passed (``phase`` is ``connect``, ``read`` or ``total``)."""

    phase: str | None = None


class Transport(HopsafeError):
    """The connection failed after the request may have been sent."""


class TooManyRedirects(HopsafeError):
    """The chain was longer than ``max_redirects``."""


class RedirectLoop(HopsafeError):
    """A redirect pointed back to a request already made in this chain."""


class InsecureRedirect(HopsafeError):
    """An https URL redirected to http and downgrades are not allowed."""


class UnsupportedScheme(HopsafeError):
    """A URL or Location uses a scheme other than http or https."""


class InvalidLocation(HopsafeError):
    """A Location header that cannot be followed."""


class BodyNotReplayable(HopsafeError):
    """A 307/308 needs the body again but it was a stream larger than the replay buffer."""


class BodyStream(HopsafeError):
    """Reading the request body failed."""


class ResponseTooLarge(HopsafeError):
    """The response body was larger than the limit."""


class RedirectRejected(HopsafeError):
    """The redirect policy refused a hop."""


class UpgradeRequired(HopsafeError):
    """The server requires a newer SDK (426). See ``minimum_version``/``current_version``."""

    minimum_version: str | None = None
    current_version: str | None = None
    sdk: str | None = None


class Cancelled(HopsafeError):
    """The request was cancelled."""


class HTTPStatusError(HopsafeError):
    """Raised by ``Response.raise_for_status()`` for 4xx and 5xx responses."""

    def __init__(self, message: str, *, response: Response) -> None:
        super().__init__(message, url=response.url, history=response.history,
                         write_accepted=response._write_accepted)
        self.response = response


_BY_NAME: dict[str, type[HopsafeError]] = {
    cls.__name__: cls
    for cls in (
        InvalidUrl, InvalidHeader, InvalidMethod, InvalidConfig, Connect, Tls, Timeout,
        Transport, TooManyRedirects, RedirectLoop, InsecureRedirect, UnsupportedScheme,
        InvalidLocation, BodyNotReplayable, BodyStream, ResponseTooLarge, RedirectRejected,
        UpgradeRequired, Cancelled,
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
