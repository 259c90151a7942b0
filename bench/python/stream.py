"""Python streamed download: one client per process; throughput and peak RSS growth.

Usage: stream.py BASE CLIENT BYTES  (CLIENT: hopsafe, httpx, urllib3)
Prints {"client", "bytes", "seconds", "rss_kib", "peak_growth_kib"}.
"""

import json
import sys
import time

BASE, CLIENT, SIZE = sys.argv[1], sys.argv[2], int(sys.argv[3])


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def reset_peak_rss():
    """Resets VmHWM to the current RSS (Linux clear_refs, value 5)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def chunks():
    """Returns a function that downloads a URL chunk by chunk and returns the bytes read."""
    if CLIENT == "hopsafe":
        import hopsafe

        c = hopsafe.Client()

        def get(url):
            n = 0
            with c.stream("GET", url) as r:
                for chunk in r.iter_bytes():
                    n += len(chunk)
            return n
    elif CLIENT == "httpx":
        import httpx

        c = httpx.Client()

        def get(url):
            n = 0
            with c.stream("GET", url) as r:
                for chunk in r.iter_bytes():
                    n += len(chunk)
            return n
    elif CLIENT == "urllib3":
        import urllib3

        pool = urllib3.PoolManager()

        def get(url):
            n = 0
            r = pool.request("GET", url, preload_content=False)
            for chunk in r.stream(64 * 1024):
                n += len(chunk)
            r.release_conn()
            return n
    else:
        raise SystemExit(f"unknown client {CLIENT}")
    return get


get = chunks()
get(f"{BASE}/stream/{1 << 20}")  # warm: imports, pool, first connection
rss = status_kib("VmRSS:")
reset_peak_rss()
t = time.perf_counter()
n = get(f"{BASE}/stream/{SIZE}")
seconds = time.perf_counter() - t
growth = max(0, status_kib("VmHWM:") - rss)
assert n == SIZE, f"{CLIENT} read {n} of {SIZE} bytes"
print(json.dumps({"client": CLIENT, "bytes": n, "seconds": seconds, "rss_kib": rss, "peak_growth_kib": growth}))
