"""Responses, headers and redirect hops."""

from __future__ import annotations

import json as _json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class Headers(Mapping[str, str]):
    """Case-insensitive, multi-valued response headers. ``headers["x"]`` joins repeated
    values with ``", "``; ``get_list("x")`` returns them apart."""

    def __init__(self, items: list[tuple[str, str]] | None = None) -> None:
        self._items: list[tuple[str, str]] = [(k.lower(), v) for k, v in (items or [])]

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


class Response:
    """A response after every redirect was followed (the body is read in full)."""

    def __init__(self, meta: dict[str, Any], content: bytes) -> None:
        self.status_code: int = meta["status_code"]
        self.url: str = meta["url"]
        self.method: str = meta["method"]
        self.http_version: str = meta.get("http_version", "")
        self.headers = Headers([(k, v) for k, v in meta["headers"]])
        self.history: list[Hop] = [Hop._from(h) for h in meta["history"]]
        self.idempotency_key: str | None = meta.get("idempotency_key")
        self.attempts: int = meta.get("attempts", 1)
        self.content: bytes = content
        # A hop turned the write into a GET: HTTPStatusError reports it as write_accepted.
        self._write_accepted = bool(meta.get("write_accepted", False))

    @property
    def text(self) -> str:
        """The body decoded with the charset of Content-Type (UTF-8 by default)."""
        ctype = self.headers.get("content-type", "")
        charset = "utf-8"
        for part in ctype.split(";")[1:]:
            k, _, v = part.strip().partition("=")
            if k.lower() == "charset" and v:
                charset = v.strip('"')
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return _json.loads(self.content)

    @property
    def is_success(self) -> bool:
        """True for 2xx."""
        return 200 <= self.status_code < 300

    def raise_for_status(self) -> Response:
        """Raises :class:`HTTPStatusError` for 4xx and 5xx; returns self otherwise."""
        if self.status_code >= 400:
            from ._errors import HTTPStatusError

            kind = "Client" if self.status_code < 500 else "Server"
            raise HTTPStatusError(f"{kind} error {self.status_code} for {self.url}", response=self)
        return self

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}] {self.method} {self.url}>"
