"""The conformance runner of the adapter columns (tests/conformance/PROTOCOL.md): every
scenario played THROUGH the peer's own API, hopsafe underneath, its client built from the
scenario exactly as conformance_runner.py builds it.

- ``python-httpx``: ``httpx.Client(transport=hopsafe.httpx.HTTPTransport(...))``; the request's
  own overrides (idempotency key, redirects, timeout) are httpx request extensions.
- ``python-requests``: a ``requests.Session`` with ``hopsafe.requests.Adapter`` mounted.
  requests hands an adapter no per-request options, so the request's redirect overrides and
  ``idempotency_key: false`` go into the adapter's client (one per scenario anyway) and a
  key into the ``Idempotency-Key`` header, as a requests user would write them.

Both leave following to hopsafe (httpx's default; ``allow_redirects=False`` for requests) and
observe what the adapter exposes: status, extensions or response attributes, and the hopsafe
error as the peer error's ``__cause__``.

Usage: python adapter_runner.py python-httpx|python-requests SERVER_READY_JSON SCENARIOS_JSON OUT_JSON
"""

from __future__ import annotations

import sys
from typing import Any

import hopsafe
from conformance_runner import client_options, failed, hops, main, read_streamed, request_body, succeeded


def peer_failed(obs: dict[str, Any], e: Exception) -> dict[str, Any]:
    """A peer exception: the hopsafe error behind it, or the peer's own failure."""
    if isinstance(e.__cause__, hopsafe.HopsafeError):
        return failed(obs, e.__cause__)
    obs["error"] = f"{type(e).__name__} (peer)"
    return obs


def httpx_play(ready: dict[str, Any], scenario: dict[str, Any], url: str, obs: dict[str, Any]) -> dict[str, Any]:
    import httpx

    import hopsafe.httpx

    r = scenario["request"]
    ext: dict[str, Any] = {f"hopsafe_{k}": r[k] for k in ("idempotency_key", "follow_redirects", "max_redirects")
                           if k in r}
    if r.get("read") == "stream":
        # The transport cannot tell client.stream() from a whole read: a streamed read says
        # it is one, so max_body_size (a cap on whole reads) does not apply.
        ext["hopsafe_max_body_size"] = None
    if "timeout_ms" in r:
        ext["hopsafe_timeout"] = r["timeout_ms"] / 1000
    args: dict[str, Any] = {"headers": r.get("headers", {}), "content": request_body(r), "extensions": ext}

    def observe(resp: httpx.Response) -> None:
        e = resp.extensions
        obs.update(status=resp.status_code, final_url=e["hopsafe_url"], final_method=e["hopsafe_method"],
                   idempotency_key=e["hopsafe_idempotency_key"], history=hops(e["hopsafe_history"]))

    try:
        transport = hopsafe.httpx.HTTPTransport(**client_options(ready, scenario.get("client", {})))
        with httpx.Client(transport=transport) as c:
            if r.get("read") == "stream":
                with c.stream(r["method"], url, **args) as resp:
                    observe(resp)
                    data = read_streamed(ready, obs["script_id"], resp.iter_bytes())
            else:
                resp = c.request(r["method"], url, **args)
                observe(resp)
                data = resp.content
    except hopsafe.HopsafeError as e:  # building the client (an invalid option)
        return failed(obs, e)
    except httpx.HTTPError as e:
        return peer_failed(obs, e)
    return succeeded(obs, data)


def requests_play(ready: dict[str, Any], scenario: dict[str, Any], url: str, obs: dict[str, Any]) -> dict[str, Any]:
    import requests

    import hopsafe.requests

    r = scenario["request"]
    spec = dict(scenario.get("client", {}))
    for key in ("follow_redirects", "max_redirects", "timeout_ms"):
        if key in r:
            spec[key] = r[key]
    headers = dict(r.get("headers", {}))
    key = r.get("idempotency_key")
    if key is False:
        spec["idempotency"] = {**spec.get("idempotency", {}), "generate": False}
    elif isinstance(key, str):
        bare = spec.get("idempotency", {}).get("format") == "bare"
        headers["Idempotency-Key"] = key if bare else f'"{key}"'

    def observe(resp: requests.Response) -> None:
        obs.update(status=resp.status_code, final_url=resp.url, final_method=resp.request.method,
                   idempotency_key=resp.hopsafe_idempotency_key,
                   history=[{"method": h.request.method, "url": h.url, "status": h.status_code}
                            for h in resp.history])

    args: dict[str, Any] = {"headers": headers, "data": request_body(r), "allow_redirects": False}
    try:
        adapter = hopsafe.requests.Adapter(**client_options(ready, spec))
        with requests.Session() as s:
            s.mount("http://", adapter)
            s.mount("https://", adapter)
            if r.get("read") == "stream":
                with s.request(r["method"], url, stream=True, **args) as resp:
                    observe(resp)
                    data = read_streamed(ready, obs["script_id"], resp.iter_content(chunk_size=None))
            else:
                resp = s.request(r["method"], url, **args)
                observe(resp)
                data = resp.content
    except hopsafe.HopsafeError as e:
        return failed(obs, e)
    except requests.exceptions.RequestException as e:
        return peer_failed(obs, e)
    return succeeded(obs, data)


ADAPTERS = {"python-httpx": httpx_play, "python-requests": requests_play}

if __name__ == "__main__":
    main(sys.argv[1], ADAPTERS[sys.argv[1]], sys.argv[2:5])
