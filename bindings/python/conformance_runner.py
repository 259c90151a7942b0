"""The Python conformance runner (tests/conformance/PROTOCOL.md).

Usage: python conformance_runner.py SERVER_READY_JSON SCENARIOS_JSON OUT_JSON

Its pieces (the client options of a scenario, the request body, the streamed read, the
observation of a response or an error, the loop over scenarios) are what adapter_runner.py
plays the scenarios through httpx and requests with.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

import hopsafe


def expand(origins: dict[str, str], text: str) -> str:
    for label, base in origins.items():
        text = text.replace("{" + label + "}", base)
    return text


def client_options(ready: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """The hopsafe client options of a scenario's ``client`` fields."""
    kw: dict[str, Any] = {"ca_pem": ready["ca_pem"]}
    kw["trusted_origins"] = [expand(ready["origins"], t) for t in spec.get("trusted_origins", [])]
    kw["sensitive_headers"] = spec.get("sensitive_headers", [])
    kw["key_honoring_origins"] = [expand(ready["origins"], o) for o in spec.get("key_honoring_origins", [])]
    if spec.get("client_identity"):
        kw["client_cert_pem"] = ready["client_cert_pem"]
        kw["client_key_pem"] = ready["client_key_pem"]
    if "proxy" in spec:
        kw["proxy"] = expand(ready["origins"], spec["proxy"])
    for key in ("allow_https_downgrade", "follow_redirects", "max_redirects", "replay_limit", "cookies",
                "sdk_name", "sdk_version", "max_body_size"):
        if key in spec:
            kw[key] = spec[key]
    idem = spec.get("idempotency") or {}
    if "generate" in idem:
        kw["idempotency_keys"] = idem["generate"]
    if "format" in idem:
        kw["idempotency_key_format"] = idem["format"]
    if "retry" in spec:
        r = spec["retry"]
        d = hopsafe.RetryPolicy()
        ms = lambda key, default: r[key] / 1000 if key in r else default  # noqa: E731
        kw["retry"] = hopsafe.RetryPolicy(
            max_attempts=r.get("max_attempts", d.max_attempts),
            base_delay=ms("base_delay_ms", d.base_delay), max_delay=ms("max_delay_ms", d.max_delay),
            max_retry_after=ms("max_retry_after_ms", d.max_retry_after),
            statuses=tuple(r.get("statuses", d.statuses)),
            retry_keyed_writes=r.get("retry_keyed_writes", d.retry_keyed_writes),
        )
    if "timeout_ms" in spec:
        kw["timeout"] = spec["timeout_ms"] / 1000
    if "read_timeout_ms" in spec:
        kw["read_timeout"] = spec["read_timeout_ms"] / 1000
    return kw


def client(ready: dict[str, Any], spec: dict[str, Any]) -> hopsafe.Client:
    return hopsafe.Client(**client_options(ready, spec))


def hops(history: list[hopsafe.Hop]) -> list[dict[str, Any]]:
    return [{"method": h.method, "url": h.url, "status": h.status_code} for h in history]


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def control(ready: dict[str, Any], path: str, body: Any) -> Any:
    req = urllib.request.Request(ready["origins"]["a"] + path, data=json.dumps(body).encode(),
                                 method="POST", headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def read_streamed(ready: dict[str, Any], sid: str, chunks: Iterable[bytes]) -> bytes:
    """Reads the body chunk by chunk; releases the script's held bodies after the first."""
    parts = []
    for chunk in chunks:
        if not parts:
            control(ready, f"/__scripts/{sid}/release", {})
        parts.append(chunk)
    return b"".join(parts)


def failed(obs: dict[str, Any], e: hopsafe.HopsafeError) -> dict[str, Any]:
    obs["error"] = core_name(e)
    obs["history"] = hops(e.history)
    obs["write_accepted"] = e.write_accepted
    if isinstance(e, hopsafe.UpgradeRequiredError):
        obs["upgrade"] = {"sdk": e.sdk, "minimum_version": e.minimum_version,
                          "current_version": e.current_version}
    return obs


def request_body(r: dict[str, Any]) -> Any:
    """The scenario request's body: bytes, a one-shot generator of 16 KiB chunks when it is
    to be streamed, or None."""
    body = r["body"].encode() if "body" in r else (b"x" * r["body_size"] if "body_size" in r else None)
    if r.get("stream") and body is not None:
        return (body[i:i + 16384] for i in range(0, len(body), 16384))
    return body


def succeeded(obs: dict[str, Any], data: bytes) -> dict[str, Any]:
    obs["body"] = {"len": len(data), "fnv1a64": fnv1a64(data)}
    return obs


Play = Callable[[dict[str, Any], dict[str, Any], str, dict[str, Any]], dict[str, Any]]


def play_all(ready: dict[str, Any], scenarios: list[dict[str, Any]], play_one: Play) -> list[dict[str, Any]]:
    """Registers each scenario's script and plays it: ``play_one(ready, scenario, url, obs)``
    fills in and returns the observation."""
    observations = []
    for scenario in scenarios:
        sid = control(ready, "/__scripts", {"steps": scenario["steps"]})["id"]
        obs: dict[str, Any] = {"id": scenario["id"], "script_id": sid, "error": None, "status": None,
                               "final_url": None, "final_method": None, "idempotency_key": None,
                               "history": [], "skipped": None}
        url = f"{ready['origins'][scenario['request']['origin']]}/s/{sid}/0"
        observations.append(play_one(ready, scenario, url, obs))
    return observations


def play(ready: dict[str, Any], scenario: dict[str, Any], url: str, obs: dict[str, Any]) -> dict[str, Any]:
    r = scenario["request"]
    sid = obs["script_id"]
    kw: dict[str, Any] = {"headers": r.get("headers", {}), "content": request_body(r)}
    if "idempotency_key" in r:
        kw["idempotency_key"] = r["idempotency_key"]
    for key in ("follow_redirects", "max_redirects"):
        if key in r:
            kw[key] = r[key]
    if "timeout_ms" in r:
        kw["timeout"] = r["timeout_ms"] / 1000
    streamed = r.get("read") == "stream"
    try:
        c = client(ready, scenario.get("client", {}))
        if streamed:
            with c.stream(r["method"], url, **kw) as resp:
                obs.update(status=resp.status_code, final_url=resp.url, final_method=resp.method,
                           idempotency_key=resp.idempotency_key, history=hops(resp.history))
                data = read_streamed(ready, sid, resp.iter_bytes())
        else:
            resp = c.request(r["method"], url, **kw)
            obs.update(status=resp.status_code, final_url=resp.url, final_method=resp.method,
                       idempotency_key=resp.idempotency_key, history=hops(resp.history))
            data = resp.content
    except hopsafe.HopsafeError as e:
        # An error reading the body keeps the response's history (the error carries it too).
        return failed(obs, e)
    return succeeded(obs, data)


def core_name(e: hopsafe.HopsafeError) -> str:
    """The core's error name the protocol reports: the class name without its ``Error``."""
    name = type(e).__name__
    return name if type(e) is hopsafe.HopsafeError else name.removesuffix("Error")


def main(runtime: str, play_one: Play, args: list[str]) -> None:
    """``args`` = SERVER_READY_JSON SCENARIOS_JSON OUT_JSON: plays every scenario, writes the
    observations as ``runtime``'s."""
    ready_path, scenarios_path, out_path = args[:3]
    with open(ready_path) as f:
        ready = json.load(f)
    with open(scenarios_path) as f:
        scenarios = json.load(f)["scenarios"]
    observations = play_all(ready, scenarios, play_one)
    with open(out_path, "w") as f:
        json.dump({"runtime": runtime, "observations": observations}, f, indent=1)


if __name__ == "__main__":
    main("python", play, sys.argv[1:4])
