"""Client and AsyncClient: the requests/httpx-style API over the native core."""

from __future__ import annotations

import asyncio
import atexit
import json as _json
import platform
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass
from typing import IO, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from . import _native
from ._errors import HopsafeError, from_native
from ._models import Metrics, Response
from ._wake import Wait

# No runtime thread may wake an event loop once the interpreter finalizes (src/exit.rs).
atexit.register(_native.stop_wakeups)

HeadersLike = Mapping[str, str] | Iterable[tuple[str, str]] | None
Content = bytes | bytearray | memoryview | str | Iterable[bytes] | IO[bytes] | AsyncIterable[bytes] | None
_UNSET: Any = object()


@dataclass(frozen=True)
class RetryPolicy:
    """When and how often failed attempts are retried (only where it cannot apply a write
    twice; see the README). Delays are in seconds."""

    max_attempts: int = 3
    base_delay: float = 0.1
    max_delay: float = 5.0
    max_retry_after: float = 30.0
    statuses: tuple[int, ...] = (429, 503)
    retry_keyed_writes: bool = True


def _pairs(headers: HeadersLike, what: str) -> list[tuple[str, str]]:
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    out = []
    for item in items:
        try:
            k, v = item
        except (TypeError, ValueError):
            raise TypeError(f"{what} must be a mapping or (name, value) pairs") from None
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"{what} names and values must be str, got {type(k).__name__}: {type(v).__name__}")
        out.append((k, v))
    return out


def _seconds(v: float | None, what: str) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{what} must be a number of seconds or None")
    return float(v)


def _body(content: Content, json: Any, stream: bool = False) -> bytes | Iterator[bytes] | None:
    """The request body: bytes, or (when `stream`) an iterator of bytes chunks for iterables
    and file objects."""
    if json is not _UNSET:
        if content is not None:
            raise TypeError("pass either content= or json=, not both")
        return _json.dumps(json, separators=(",", ":")).encode()
    if content is None:
        return None
    if isinstance(content, str):
        return content.encode()
    if isinstance(content, (bytes, bytearray, memoryview)):
        return bytes(content)
    if hasattr(content, "read"):
        reader = content.read
        content = iter(lambda: reader(_READ_SIZE), b"")
    if isinstance(content, Iterable):
        chunks = _chunks(content)
        # Streamed (sync client): the core keeps a replay copy up to the client's replay
        # limit, and a 307/308 past it fails with BodyNotReplayableError. Otherwise the iterable is
        # read in full first. Either way nothing is ever dropped or truncated.
        return chunks if stream else b"".join(chunks)
    raise TypeError(f"content must be bytes, str, a file object or an iterable of bytes, not {type(content).__name__}")


_READ_SIZE = 64 * 1024


async def _pump(content: AsyncIterable[Any], writer: Any, loop: asyncio.AbstractEventLoop) -> BaseException | None:
    """Feeds an async iterable into a native body writer while the request runs; each chunk
    is handed over on a worker thread (the hand-over waits for the core). Returns the error
    the iterable raised, if any."""
    try:
        async for chunk in content:
            if not await loop.run_in_executor(None, writer.send_blocking, _as_bytes(chunk)):
                break
        writer.end()
    except asyncio.CancelledError:
        writer.fail("the request was cancelled")
        raise
    except Exception as e:  # noqa: BLE001 - handed back to the caller of request()
        writer.fail(str(e) or type(e).__name__)
        return e
    return None


def _as_bytes(chunk: Any) -> bytes:
    """One chunk of a streamed body as bytes (str is UTF-8 encoded)."""
    if isinstance(chunk, str):
        return chunk.encode()
    if not isinstance(chunk, (bytes, bytearray, memoryview)):
        raise TypeError(f"content iterables must yield bytes, got {type(chunk).__name__}")
    return bytes(chunk)


def _chunks(content: Iterable[Any]) -> Iterator[bytes]:
    for chunk in content:
        yield _as_bytes(chunk)


def _with_params(url: str, params: Mapping[str, Any] | None) -> str:
    if not params:
        return url
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in params.items()], doseq=True)
    return urlunsplit(parts._replace(query=f"{parts.query}&{query}" if parts.query else query))


_DEADLINES = ("timeout", "connect_timeout", "read_timeout")


def _retry_doc(retry: RetryPolicy | None) -> dict[str, Any] | None:
    if retry is None:
        return None
    if not isinstance(retry, RetryPolicy):
        raise TypeError("retry must be a hopsafe.RetryPolicy")
    return {**asdict(retry), "statuses": list(retry.statuses)}


class _Base:
    # Blocking clients do their network work on the calling thread; async ones on the
    # shared runtime.
    _blocking = False

    def __init__(
        self,
        *,
        headers: HeadersLike = None,
        trusted_origins: Iterable[str] = (),
        sensitive_headers: Iterable[str] = (),
        key_honoring_origins: Iterable[str] = (),
        allow_https_downgrade: bool = False,
        follow_redirects: bool = True,
        max_redirects: int = 20,
        retry: RetryPolicy | None = None,
        ca_file: str | None = None,
        ca_pem: str | bytes | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = 10.0,
        read_timeout: float | None = 30.0,
        idempotency_keys: bool = True,
        idempotency_methods: Iterable[str] | None = None,
        idempotency_key_format: str = "quoted",
        replay_limit: int | None = None,
        user_agent: str | None = None,
        sdk_name: str | None = None,
        sdk_version: str | None = None,
        http2: bool = True,
        builtin_roots: bool = True,
        system_roots: bool = True,
        client_cert_pem: str | None = None,
        client_key_pem: str | None = None,
        cookies: bool = False,
        proxy: str | None = None,
        no_proxy: str | None = None,
        trust_env: bool = True,
        redirect_hook: Callable[[dict[str, Any]], Any] | None = None,
        max_body_size: int | None = None,
    ) -> None:
        if any(isinstance(v, str) for v in (trusted_origins, sensitive_headers, key_honoring_origins)):
            raise TypeError("trusted_origins, sensitive_headers and key_honoring_origins take a list of str")

        pem = ca_pem.decode() if isinstance(ca_pem, bytes) else ca_pem
        if ca_file is not None:
            with open(ca_file, encoding="ascii") as f:
                pem = (pem or "") + f.read()
        config = {
            "headers": _pairs(headers, "headers"),
            "trusted_origins": list(trusted_origins),
            "sensitive_headers": list(sensitive_headers),
            "key_honoring_origins": list(key_honoring_origins),
            "allow_https_downgrade": bool(allow_https_downgrade),
            "follow_redirects": bool(follow_redirects),
            "max_redirects": max_redirects,
            "retry": _retry_doc(retry),
            "ca_pem": pem,
            "timeout": _seconds(timeout, "timeout"),
            "connect_timeout": _seconds(connect_timeout, "connect_timeout"),
            "read_timeout": _seconds(read_timeout, "read_timeout"),
            "idempotency_keys": bool(idempotency_keys),
            "idempotency_methods": None if idempotency_methods is None else list(idempotency_methods),
            "idempotency_key_format": idempotency_key_format,
            "replay_limit": replay_limit,
            "user_agent": user_agent,
            "sdk_name": sdk_name,
            "sdk_version": sdk_version,
            "runtime": f"{platform.python_implementation().lower()}/{platform.python_version()}",
            "http2": bool(http2),
            "builtin_roots": bool(builtin_roots),
            "system_roots": bool(system_roots),
            "client_cert_pem": client_cert_pem,
            "client_key_pem": client_key_pem,
            "cookies": bool(cookies),
            "proxy": proxy,
            "no_proxy": no_proxy,
            "trust_env": bool(trust_env),
            "max_body_size": max_body_size,
        }
        # The core's option document: an absent key is the core default; a None deadline is
        # "no deadline", any other None is "the default".
        config = {k: v for k, v in config.items() if v is not None or k in _DEADLINES}
        try:
            doc = _json.dumps(config)
        except (TypeError, ValueError) as e:
            raise TypeError(f"invalid client option: {e}") from None
        if redirect_hook is not None and not callable(redirect_hook):
            raise TypeError("redirect_hook must be a callable")
        native, err = _native.NativeClient.create(doc, redirect_hook, self._blocking)
        if err is not None:
            raise from_native(_json.loads(err))
        self._native = native
        self.max_body_size = max_body_size
        """The cap on bodies read whole (bytes), ``None`` for none."""

    def metrics(self) -> Metrics:
        """The client's counters so far: redirects by status and origin pair (with the age of
        each pair), headers stripped, retries by reason, and re-sent writes
        (``writes_delivered_twice`` must stay 0). See :class:`hopsafe.Metrics`."""
        if self._native is None:
            raise HopsafeError("the client is closed")
        metrics: Metrics = _json.loads(self._native.metrics())
        return metrics

    @staticmethod
    def _prepare(
        method: str, url: str, headers: HeadersLike, content: Content, json: Any,
        params: Mapping[str, Any] | None, follow_redirects: bool | None, max_redirects: int | None,
        idempotency_key: str | bool | None, timeout: float | None, retry: RetryPolicy | None,
        stream: bool = False,
    ) -> tuple[tuple[str, str, list[tuple[str, str]], str | None], bytes | Iterator[bytes] | None]:
        if not isinstance(method, str):
            raise TypeError(f"method must be str, not {type(method).__name__}")
        if not isinstance(url, str):
            raise TypeError(f"url must be str, not {type(url).__name__}")
        if idempotency_key is not None and not isinstance(idempotency_key, (str, bool)):
            raise TypeError("idempotency_key must be a str, True, False or None")
        pairs = _pairs(headers, "headers")
        body = _body(content, json, stream)
        if json is not _UNSET and not any(k.lower() == "content-type" for k, _ in pairs):
            pairs.append(("content-type", "application/json"))
        # Method, URL and headers cross as native values; the other settings as one JSON
        # document, only when one is set (the common call builds and parses no JSON).
        options = None
        if (idempotency_key is not None or follow_redirects is not None or max_redirects is not None
                or timeout is not None or retry is not None):
            options = _json.dumps({
                "idempotency_key": idempotency_key, "follow_redirects": follow_redirects,
                "max_redirects": max_redirects, "timeout": _seconds(timeout, "timeout"),
                "retry": _retry_doc(retry),
            })
        return (method.upper(), _with_params(url, params), pairs, options), body

    @staticmethod
    def _result(ok: bool, meta: Any, body: Any) -> Response:
        # meta: the response's NativeMeta, or the error's JSON document when not ok.
        if not ok:
            raise from_native(_json.loads(meta))
        return Response(meta, body)


class Client(_Base):
    """A blocking client with a connection pool; safe to share between threads. The network
    work runs with the GIL released, on the calling thread (no hand-off to another thread).

    >>> with hopsafe.Client(trusted_origins=["https://*.api.example.com"]) as c:
    ...     r = c.post("https://api.example.com/v1/orders", json={"sku": "A-1"})
    """

    _blocking = True

    def request(
        self, method: str, url: str, *, headers: HeadersLike = None, content: Content = None,
        json: Any = _UNSET, params: Mapping[str, Any] | None = None,
        follow_redirects: bool | None = None, max_redirects: int | None = None,
        idempotency_key: str | bool | None = None, timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> Response:
        """Sends a request, following redirects and retrying as configured, and reads the
        whole body (``ResponseTooLargeError`` past ``max_body_size``)."""
        if (headers is None and json is _UNSET and params is None and follow_redirects is None
                and max_redirects is None and idempotency_key is None and timeout is None
                and retry is None and (content is None or type(content) is bytes)
                and type(method) is str and type(url) is str):
            # The common call has nothing to convert: straight to the core (what _send does).
            native = self._native
            if native is None:
                raise HopsafeError("the client is closed")
            return self._result(*native.send(method.upper(), url, [], None, content))
        return self._send(method, url, headers, content, json, params, follow_redirects,
                          max_redirects, idempotency_key, timeout, retry, False)

    @contextmanager
    def stream(
        self, method: str, url: str, *, headers: HeadersLike = None, content: Content = None,
        json: Any = _UNSET, params: Mapping[str, Any] | None = None,
        follow_redirects: bool | None = None, max_redirects: int | None = None,
        idempotency_key: str | bool | None = None, timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> Iterator[Response]:
        """Sends a request like ``request()`` and yields the response at headers, its body
        unread: ``iter_bytes()``, ``iter_text()``, ``iter_lines()`` or ``read()``. Leaving
        the block before the end aborts the transfer.

        >>> with client.stream("GET", url) as r:
        ...     for chunk in r.iter_bytes():
        ...         sink.write(chunk)
        """
        r = self._send(method, url, headers, content, json, params, follow_redirects,
                       max_redirects, idempotency_key, timeout, retry, True)
        try:
            yield r
        finally:
            r.close()

    def _send(
        self, method: str, url: str, headers: HeadersLike, content: Content, json: Any,
        params: Mapping[str, Any] | None, follow_redirects: bool | None, max_redirects: int | None,
        idempotency_key: str | bool | None, timeout: float | None, retry: RetryPolicy | None,
        stream: bool,
    ) -> Response:
        req, body = self._prepare(method, url, headers, content, json, params,
                                  follow_redirects, max_redirects, idempotency_key, timeout, retry,
                                  stream=True)
        native = self._native
        if native is None:
            raise HopsafeError("the client is closed")
        if body is None or isinstance(body, bytes):
            return self._result(*native.send(*req, body, stream))
        return self._result(*native.send_stream(*req, body, stream))

    def get(self, url: str, **kw: Any) -> Response:
        """GET."""
        return self.request("GET", url, **kw)

    def head(self, url: str, **kw: Any) -> Response:
        """HEAD."""
        return self.request("HEAD", url, **kw)

    def options(self, url: str, **kw: Any) -> Response:
        """OPTIONS."""
        return self.request("OPTIONS", url, **kw)

    def post(self, url: str, **kw: Any) -> Response:
        """POST (gets an Idempotency-Key by default)."""
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> Response:
        """PUT."""
        return self.request("PUT", url, **kw)

    def patch(self, url: str, **kw: Any) -> Response:
        """PATCH (gets an Idempotency-Key by default)."""
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any) -> Response:
        """DELETE."""
        return self.request("DELETE", url, **kw)

    def close(self) -> None:
        """Releases the connection pool."""
        self._native = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Base):
    """An asyncio client. Requests run on hopsafe's shared runtime; cancelling the awaiting
    task aborts the request (the connection is dropped)."""

    async def request(
        self, method: str, url: str, *, headers: HeadersLike = None, content: Content = None,
        json: Any = _UNSET, params: Mapping[str, Any] | None = None,
        follow_redirects: bool | None = None, max_redirects: int | None = None,
        idempotency_key: str | bool | None = None, timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> Response:
        """Sends a request, following redirects and retrying as configured, and reads the
        whole body (``ResponseTooLargeError`` past ``max_body_size``)."""
        return await self._send(method, url, headers, content, json, params, follow_redirects,
                                max_redirects, idempotency_key, timeout, retry, False)

    @asynccontextmanager
    async def stream(
        self, method: str, url: str, *, headers: HeadersLike = None, content: Content = None,
        json: Any = _UNSET, params: Mapping[str, Any] | None = None,
        follow_redirects: bool | None = None, max_redirects: int | None = None,
        idempotency_key: str | bool | None = None, timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncIterator[Response]:
        """Sends a request like ``request()`` and yields the response at headers, its body
        unread: ``aiter_bytes()``, ``aiter_text()``, ``aiter_lines()`` or ``aread()``. Leaving
        the block before the end (or cancelling the task) aborts the transfer.

        >>> async with client.stream("GET", url) as r:
        ...     async for line in r.aiter_lines():
        ...         print(line)
        """
        r = await self._send(method, url, headers, content, json, params, follow_redirects,
                             max_redirects, idempotency_key, timeout, retry, True)
        try:
            yield r
        finally:
            await r.aclose()

    async def _send(
        self, method: str, url: str, headers: HeadersLike, content: Content, json: Any,
        params: Mapping[str, Any] | None, follow_redirects: bool | None, max_redirects: int | None,
        idempotency_key: str | bool | None, timeout: float | None, retry: RetryPolicy | None,
        stream: bool,
    ) -> Response:
        streamed = json is _UNSET and isinstance(content, AsyncIterable)
        req, body = self._prepare(method, url, headers, None if streamed else content, json, params,
                                  follow_redirects, max_redirects, idempotency_key, timeout, retry)
        if self._native is None:
            raise HopsafeError("the client is closed")
        wait = Wait()
        pump: asyncio.Task[BaseException | None] | None = None
        if streamed:
            handle, writer = self._native.start_stream(*req, wait.wake, stream)
            pump = asyncio.ensure_future(_pump(content, writer, asyncio.get_running_loop()))  # type: ignore[arg-type]
        else:
            assert body is None or isinstance(body, bytes)
            handle = self._native.start(*req, body, wait.wake, stream)
        try:
            await wait.done
        except asyncio.CancelledError:
            wait.cancel()
            handle.cancel()
            if pump is not None:
                pump.cancel()
            raise
        result = handle.result()
        if result is None:
            raise HopsafeError("the request ended without a result")
        ok, meta, data = result
        # The caller's own stream failed: raise its error, not the core's account of it.
        if not ok and pump is not None and '"BodyStream"' in meta:
            thrown = await pump
            if thrown is not None:
                raise thrown
        if pump is not None and not pump.done():
            pump.cancel()  # the request is over; stop reading the caller's iterable
        return self._result(ok, meta, data)

    async def get(self, url: str, **kw: Any) -> Response:
        """GET."""
        return await self.request("GET", url, **kw)

    async def head(self, url: str, **kw: Any) -> Response:
        """HEAD."""
        return await self.request("HEAD", url, **kw)

    async def options(self, url: str, **kw: Any) -> Response:
        """OPTIONS."""
        return await self.request("OPTIONS", url, **kw)

    async def post(self, url: str, **kw: Any) -> Response:
        """POST (gets an Idempotency-Key by default)."""
        return await self.request("POST", url, **kw)

    async def put(self, url: str, **kw: Any) -> Response:
        """PUT."""
        return await self.request("PUT", url, **kw)

    async def patch(self, url: str, **kw: Any) -> Response:
        """PATCH (gets an Idempotency-Key by default)."""
        return await self.request("PATCH", url, **kw)

    async def delete(self, url: str, **kw: Any) -> Response:
        """DELETE."""
        return await self.request("DELETE", url, **kw)

    async def aclose(self) -> None:
        """Releases the connection pool."""
        self._native = None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
