"""Client.metrics() (sync and async): the core's counters, checked against the test server."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import hopsafe
from conftest import Lab, header


def _origin(url: str) -> str:
    u = urlsplit(url)
    return f"{u.scheme}://{u.hostname}:{u.port}"


def test_redirect_pair_stripped_header_and_age(lab: Lab) -> None:
    def chain() -> tuple[str, str]:
        return lab.script([{"status": 307, "location": "{b}/s/{id}/1"}, {"status": 200}])

    c = lab.client()
    sid, url = chain()
    assert c.get(url, headers={"authorization": "Bearer secret"}).status_code == 200
    assert header(lab.records(sid)[1], "authorization") is None
    m = c.metrics()
    [pair] = m["redirects"]
    assert (pair["status"], pair["from"], pair["to"], pair["count"]) == (
        307, _origin(lab.origins["a"]), _origin(lab.origins["b"]), 1)
    assert m["headers_stripped"] == [{"name": "authorization", "reason": "cross-origin", "count": 1}]
    assert m["retries"] == [] and m["writes_delivered_twice"] == 0
    assert "secret" not in repr(m)

    time.sleep(0.02)
    c.get(chain()[1], headers={"authorization": "Bearer secret"})
    [again] = c.metrics()["redirects"]
    assert again["count"] == 2 and again["first_seen_ms"] == pair["first_seen_ms"]
    assert again["last_seen_ms"] >= pair["last_seen_ms"] + 20 and again["age_ms"] >= 20


def test_async_client_counts_retries_and_keyed_resends(lab: Lab) -> None:
    _, busy = lab.script([{"status": 200, "faults": ["status_503"]}])
    sid, reset = lab.script([{"status": 200, "apply": True, "faults": ["reset_after_read"]}])

    async def main() -> hopsafe.Metrics:
        async with lab.async_client() as c:
            assert (await c.get(busy)).status_code == 200
            r = await c.post(reset, content=b"charge", idempotency_key="order-7")
            assert r.status_code == 200 and r.attempts == 2
            return c.metrics()

    m = asyncio.run(main())
    assert lab.writes(sid)["deliveries"] == 2
    assert m["retries"] == [{"reason": "after_send", "count": 1}, {"reason": "status_503", "count": 1}]
    assert m["writes_resent_with_key"] == 1 and m["writes_delivered_twice"] == 0
    assert m["redirects"] == [] and m["redirect_pairs_overflow"] == 0
