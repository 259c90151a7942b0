"""Python benchmark: one client per process (so peak RSS is its own), same loopback server.

    python bench.py BASE_URL CLIENT [--quick]   ->  one JSON line
"rps": requests per second per workload; "cpu_us": this process's CPU time (every thread,
user and system) per request. A rate on a shared machine moves with whatever else runs,
and on loopback it includes the server's share and each wake-up; the CPU per request is
what the client itself spends, and stays put when the machine is busy.
CLIENT: hopsafe, hopsafe-async, httpx, httpx-async, requests, urllib3, aiohttp, pyreqwest,
and hopsafe under a peer's API: httpx+hopsafe, httpx-async+hopsafe, requests+hopsafe
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import threading
import time

BASE, CLIENT = sys.argv[1], sys.argv[2]
QUICK = "--quick" in sys.argv
N = 500 if QUICK else 3000
KIB = b"x" * 1024


def sync_client():
    if CLIENT == "hopsafe":
        import hopsafe
        c = hopsafe.Client()
        return lambda m, u, b=None: c.request(m, u, content=b).content
    if CLIENT == "httpx":
        import httpx
        c = httpx.Client(follow_redirects=True)
        return lambda m, u, b=None: c.request(m, u, content=b).content
    if CLIENT == "requests":
        import requests
        s = requests.Session()
        return lambda m, u, b=None: s.request(m, u, data=b).content
    if CLIENT == "httpx+hopsafe":
        import httpx

        import hopsafe.httpx
        c = httpx.Client(transport=hopsafe.httpx.HTTPTransport())
        return lambda m, u, b=None: c.request(m, u, content=b).content
    if CLIENT == "requests+hopsafe":
        import requests

        import hopsafe.requests
        s = requests.Session()
        s.mount("http://", hopsafe.requests.Adapter())
        return lambda m, u, b=None: s.request(m, u, data=b).content
    if CLIENT == "urllib3":
        import urllib3
        p = urllib3.PoolManager(maxsize=64)
        return lambda m, u, b=None: p.request(m, u, body=b, redirect=True).data
    if CLIENT == "pyreqwest":
        from pyreqwest.client import SyncClientBuilder
        c = SyncClientBuilder().build()

        def call(m, u, b=None):
            rb = c.request(m, u)
            if b is not None:
                rb = rb.body_bytes(b)
            return bytes(rb.build().send().bytes())
        return call
    raise SystemExit(f"unknown sync client {CLIENT}")


def async_client():
    if CLIENT == "hopsafe-async":
        import hopsafe
        c = hopsafe.AsyncClient()

        async def call(m, u, b=None):
            return (await c.request(m, u, content=b)).content
        return call
    if CLIENT == "httpx-async":
        import httpx
        c = httpx.AsyncClient(follow_redirects=True, limits=httpx.Limits(max_connections=64))

        async def call(m, u, b=None):
            return (await c.request(m, u, content=b)).content
        return call
    if CLIENT == "httpx-async+hopsafe":
        import httpx

        import hopsafe.httpx
        c = httpx.AsyncClient(transport=hopsafe.httpx.AsyncHTTPTransport())

        async def call(m, u, b=None):
            return (await c.request(m, u, content=b)).content
        return call
    if CLIENT == "aiohttp":
        import aiohttp
        holder = {}

        async def call(m, u, b=None):
            if "s" not in holder:
                holder["s"] = aiohttp.ClientSession()
            async with holder["s"].request(m, u, data=b) as r:
                return await r.read()
        return call
    raise SystemExit(f"unknown async client {CLIENT}")


def rate(n, seconds):
    return n / seconds


# name, requests, workers (threads or tasks), method, path, body. Each runs a quarter of its
# requests untimed first (a full pool, warm caches), then all of them timed.
WORKLOADS = [
    ("sequential GET", N, 1, "GET", "/echo", None),
    ("64 concurrent GET", 64 * (N // 16), 64, "GET", "/echo", None),
    ("POST 1 KiB", N, 1, "POST", "/echo", KIB),
    ("POST 1 KiB + 307", N, 1, "POST", "/r/307", KIB),
]


def run_sync():
    call = sync_client()
    call("GET", BASE + "/echo")

    def run(n, method, path, body, workers):
        def worker(k):
            for _ in range(k):
                call(method, BASE + path, body)
        if workers == 1:
            worker(n)
            return n
        threads = [threading.Thread(target=worker, args=(n // workers,)) for _ in range(workers)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return workers * (n // workers)

    out, cpu = timed_after_warm_up(run)
    k = 3 if QUICK else 10
    assert len(call("GET", BASE + f"/bytes/{10 << 20}")) == 10 << 20
    t = time.perf_counter()
    for _ in range(k):
        assert len(call("GET", BASE + f"/bytes/{10 << 20}")) == 10 << 20
    out["10 MiB download"] = rate(k, time.perf_counter() - t)
    return out, cpu


def timed_after_warm_up(run):
    """Request rates and CPU microseconds per request by workload."""
    for _, n, workers, *request in WORKLOADS:
        run(n // 4, *request, workers)
    out, cpu = {}, {}
    for name, n, workers, *request in WORKLOADS:
        t, c = time.perf_counter(), time.process_time()
        done = run(n, *request, workers)
        out[name] = rate(done, time.perf_counter() - t)
        cpu[name] = (time.process_time() - c) / done * 1e6
    return out, cpu


async def run_async():
    call = async_client()
    await call("GET", BASE + "/echo")

    async def run(n, method, path, body, workers):
        async def worker(k):
            for _ in range(k):
                await call(method, BASE + path, body)
        await asyncio.gather(*(worker(n // workers) for _ in range(workers)))
        return workers * (n // workers)

    for _, n, workers, *request in WORKLOADS:
        await run(n // 4, *request, workers)
    out, cpu = {}, {}
    for name, n, workers, *request in WORKLOADS:
        t, c = time.perf_counter(), time.process_time()
        done = await run(n, *request, workers)
        out[name] = rate(done, time.perf_counter() - t)
        cpu[name] = (time.process_time() - c) / done * 1e6
    return out, cpu


try:
    results, cpu = asyncio.run(run_async()) if CLIENT in ("hopsafe-async", "httpx-async", "httpx-async+hopsafe", "aiohttp") else run_sync()
    error = None
except Exception as e:  # noqa: BLE001 -- a peer that cannot do a workload is reported, not hidden
    results, cpu, error = {}, {}, f"{type(e).__name__}: {e}"[:200]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"client": CLIENT, "rps": results, "cpu_us": cpu, "peak_rss_kib": peak, "error": error}))
