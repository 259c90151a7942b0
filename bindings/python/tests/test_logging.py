"""The core's hop and retry events as Python ``logging`` records, without secrets."""

from __future__ import annotations

import logging

import pytest

import hopsafe
from conftest import Lab


def test_hops_and_retries_reach_logging_without_secrets(lab: Lab, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="hopsafe")
    hopsafe.refresh_logging()
    _, url = lab.script([
        {"status": 307, "location": "{b}/s/{id}/1?token=query-secret"},
        {"status": 200, "faults": ["status_503"]},
    ])
    with lab.client() as c:
        r = c.put(url + "?sig=path-secret", content=b"x", headers={"authorization": "Bearer header-secret"})
    assert r.status_code == 200
    hops = [rec for rec in caplog.records if rec.name == "hopsafe.hop"]
    retries = [rec for rec in caplog.records if rec.name == "hopsafe.retry"]
    assert len(hops) == 1 and "status=307" in hops[0].getMessage(), [x.getMessage() for x in caplog.records]
    assert '("authorization", "cross-origin")' in hops[0].getMessage()
    assert retries and "Status(503)" in retries[0].getMessage()
    text = "\n".join(rec.getMessage() for rec in caplog.records)
    for secret in ("header-secret", "query-secret", "path-secret"):
        assert secret not in text


def test_records_refused_before_come_through_after_refresh(lab: Lab, caplog: pytest.LogCaptureFixture) -> None:
    # The bridge remembers what logging refused (src/logs.rs) until refresh_logging().
    caplog.set_level(logging.WARNING, logger="hopsafe")
    hopsafe.refresh_logging()
    with lab.client() as c:
        for _ in range(2):
            _, url = lab.script([{"status": 307, "location": "{a}/s/{id}/1"}, {"status": 200}])
            assert c.post(url, content=b"x").status_code == 200
        assert not [rec for rec in caplog.records if rec.name == "hopsafe.hop"]
        caplog.set_level(logging.DEBUG, logger="hopsafe")
        hopsafe.refresh_logging()
        _, url = lab.script([{"status": 307, "location": "{a}/s/{id}/1"}, {"status": 200}])
        assert c.post(url, content=b"x").status_code == 200
    hops = [rec for rec in caplog.records if rec.name == "hopsafe.hop"]
    assert len(hops) == 1 and "status=307" in hops[0].getMessage(), [x.getMessage() for x in caplog.records]
