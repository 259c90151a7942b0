"""Server side of SDK identity: refuse SDK versions below a minimum, for WSGI and ASGI apps.

>>> policy = hopsafe.pinning.Policy.from_file("pinning.toml")
>>> app = hopsafe.pinning.WsgiPinning(app, policy)       # Flask, Django (WSGI)
>>> app = hopsafe.pinning.AsgiPinning(app, policy)       # Starlette, FastAPI (ASGI)

A refused request gets ``426`` (or ``400`` for a malformed identity) with an RFC 9457
``application/problem+json`` body; hopsafe clients raise ``UpgradeRequiredError`` on it. The policy
format is described in the README (rules per SDK, writes only, path prefixes).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from . import _native
from ._errors import from_native


class Policy:
    """A minimum-version policy, evaluated by the hopsafe core."""

    def __init__(self, text: str, format: str = "toml") -> None:
        native, err = _native.NativePolicy.load(text, format)
        if err is not None:
            raise from_native(json.loads(err))
        self._native = native

    @classmethod
    def from_file(cls, path: str | Path) -> Policy:
        """Loads a ``.toml`` or ``.json`` file."""
        p = Path(path)
        return cls(p.read_text(encoding="utf-8"), "json" if p.suffix == ".json" else "toml")

    def evaluate(self, method: str, path: str, headers: Iterable[tuple[str, str]]) -> tuple[int, str] | None:
        """``None`` to let the request through, or ``(status, problem JSON)`` to refuse it."""
        return self._native.evaluate(method, path, list(headers))


def _reason(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


class WsgiPinning:
    """WSGI middleware enforcing a :class:`Policy`."""

    def __init__(self, app: Callable[..., Iterable[bytes]], policy: Policy) -> None:
        self.app = app
        self.policy = policy

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        headers = [(k[5:].replace("_", "-").lower(), str(v)) for k, v in environ.items() if k.startswith("HTTP_")]
        denial = self.policy.evaluate(environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO") or "/", headers)
        if denial is None:
            return self.app(environ, start_response)
        status, body = denial
        data = body.encode()
        start_response(_reason(status), [("Content-Type", "application/problem+json"), ("Content-Length", str(len(data)))])
        return [data]


class AsgiPinning:
    """ASGI middleware enforcing a :class:`Policy` (HTTP requests only)."""

    def __init__(self, app: Callable[..., Awaitable[None]], policy: Policy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        denial = self.policy.evaluate(scope.get("method", "GET"), scope.get("path", "/"), headers)
        if denial is None:
            await self.app(scope, receive, send)
            return
        status, body = denial
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/problem+json")]})
        await send({"type": "http.response.body", "body": body.encode()})
