"""Plays the conformance scenarios with another Python client alone, for comparison
(`cargo xtask conformance --peer python-httpx --peer python-requests`). Same protocol as conformance_runner.py; features a
peer does not have (trusted origins, idempotency keys, replay limits) are simply not set.

Usage: python peer_runner.py python-httpx|python-requests SERVER_READY_JSON SCENARIOS_JSON OUT_JSON
"""

from __future__ import annotations

import json
import ssl
import sys
import tempfile
import urllib.request
from typing import Any


def httpx_play(ready: dict[str, Any], scenario: dict[str, Any], url: str, obs: dict[str, Any]) -> None:
    import httpx

    with tempfile.NamedTemporaryFile("w", suffix=".pem") as ca:
        ca.write(ready["ca_pem"])
        ca.flush()
        spec = scenario.get("client", {})
        r = scenario["request"]
        follow = r.get("follow_redirects", spec.get("follow_redirects", True))
        max_redirects = r.get("max_redirects", spec.get("max_redirects", 20))
        ctx = ssl.create_default_context(cafile=ca.name)
        body = r["body"].encode() if "body" in r else (b"x" * r["body_size"] if "body_size" in r else None)
        try:
            with httpx.Client(verify=ctx, follow_redirects=follow, max_redirects=max_redirects) as c:
                resp = c.request(r["method"], url, headers=r.get("headers", {}), content=body)
            obs.update(status=resp.status_code, final_url=str(resp.url), final_method=resp.request.method,
                       history=[{"method": h.request.method, "url": str(h.url), "status": h.status_code}
                                for h in resp.history])
        except httpx.TooManyRedirects:
            obs["error"] = "TooManyRedirects"
        except httpx.ConnectError:
            obs["error"] = "Connect"
        except httpx.UnsupportedProtocol:
            obs["error"] = "UnsupportedScheme"
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            obs["error"] = "Transport"
        except Exception as e:  # noqa: BLE001 -- a peer's own failure is an observation too
            obs["error"] = f"{type(e).__name__} (httpx)"


def requests_play(ready: dict[str, Any], scenario: dict[str, Any], url: str, obs: dict[str, Any]) -> None:
    import requests

    with tempfile.NamedTemporaryFile("w", suffix=".pem") as ca:
        ca.write(ready["ca_pem"])
        ca.flush()
        spec = scenario.get("client", {})
        r = scenario["request"]
        follow = r.get("follow_redirects", spec.get("follow_redirects", True))
        body = r["body"].encode() if "body" in r else (b"x" * r["body_size"] if "body_size" in r else None)
        try:
            with requests.Session() as s:
                s.max_redirects = r.get("max_redirects", spec.get("max_redirects", 30))
                resp = s.request(r["method"], url, headers=r.get("headers", {}), data=body, verify=ca.name,
                                 allow_redirects=follow, timeout=spec.get("timeout_ms", 30_000) / 1000)
            obs.update(status=resp.status_code, final_url=resp.url, final_method=resp.request.method,
                       history=[{"method": h.request.method, "url": h.url, "status": h.status_code}
                                for h in resp.history])
        except requests.exceptions.TooManyRedirects:
            obs["error"] = "TooManyRedirects"
        except requests.exceptions.SSLError:
            obs["error"] = "Tls"
        except requests.exceptions.InvalidSchema:
            obs["error"] = "UnsupportedScheme"
        except requests.exceptions.Timeout:
            obs["error"] = "Timeout"
        except requests.exceptions.ConnectionError as e:
            # A refused connection, or one that broke after the request went out.
            refused = "NewConnectionError" in repr(e) or "Connection refused" in str(e)
            obs["error"] = "Connect" if refused else "Transport"
        except requests.exceptions.ChunkedEncodingError:
            obs["error"] = "Transport"
        except Exception as e:  # noqa: BLE001 -- a peer's own failure is an observation too
            obs["error"] = f"{type(e).__name__} (requests)"


PEERS = {"python-httpx": httpx_play, "python-requests": requests_play}


def main() -> None:
    peer, ready_path, scenarios_path, out_path = sys.argv[1:5]
    play = PEERS[peer]
    with open(ready_path) as f:
        ready = json.load(f)
    with open(scenarios_path) as f:
        scenarios = json.load(f)["scenarios"]
    observations = []
    for s in scenarios:
        req = urllib.request.Request(ready["origins"]["a"] + "/__scripts", data=json.dumps({"steps": s["steps"]}).encode(),
                                     method="POST", headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            sid = json.loads(resp.read())["id"]
        obs: dict[str, Any] = {"id": s["id"], "script_id": sid, "error": None, "status": None, "final_url": None,
                               "final_method": None, "idempotency_key": None, "history": [], "skipped": None}
        if s["request"].get("stream"):
            obs["skipped"] = "not compared"
        else:
            play(ready, s, f"{ready['origins'][s['request']['origin']]}/s/{sid}/0", obs)
        observations.append(obs)
    with open(out_path, "w") as f:
        json.dump({"runtime": f"peer:{peer}", "observations": observations}, f, indent=1)


if __name__ == "__main__":
    main()
