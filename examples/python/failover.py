"""A POST through a regional failover (307 to the standby, 308 to the final path), against
the local multi-origin lab server.

    HOPSAFE_TESTSERVER=target/debug/hopsafe-testserver python examples/python/failover.py
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request

import hopsafe

binary = os.environ.get("HOPSAFE_TESTSERVER", "target/debug/hopsafe-testserver")
lab = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
assert lab.stdout is not None and lab.stdin is not None
ready = json.loads(lab.stdout.readline())
primary, standby = ready["origins"]["a"], ready["origins"]["b"]

steps = [{"status": 307, "location": "{b}/s/{id}/1"}, {"status": 308, "location": "{b}/s/{id}/2"},
         {"status": 201, "apply": True}]
req = urllib.request.Request(primary + "/__scripts", data=json.dumps({"steps": steps}).encode(), method="POST")
with urllib.request.urlopen(req) as resp:
    script = json.loads(resp.read())["id"]

with hopsafe.Client() as client:
    r = client.post(f"{primary}/s/{script}/0", json={"order": "A-1", "qty": 2},
                    headers={"Authorization": "Bearer demo-token"})
for hop in r.history:
    print(f"{hop.status_code} {hop.method} {hop.url} -> {hop.location}  dropped={hop.dropped}")
print(f"final {r.status_code} {r.method} {r.url}  idempotency-key={r.idempotency_key}")
assert r.status_code == 201 and r.method == "POST" and r.history[0].dropped == [("authorization", "cross-origin")]
lab.stdin.close()
lab.wait(timeout=5)
