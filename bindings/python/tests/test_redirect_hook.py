"""The redirect hook: a Python callable asked before every hop (sync and async clients)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import hopsafe
from conftest import Lab


def test_the_hook_sees_each_hop_and_can_stop_at_another_origin(lab: Lab) -> None:
    seen: list[dict[str, Any]] = []

    def hook(info: dict[str, Any]) -> str | None:
        seen.append(info)
        return "stop" if info["to"].startswith(lab.origins["b"]) else None

    _, same = lab.script([{"status": 302, "location": "/s/{id}/1"}, {"status": 200}])
    with lab.client(redirect_hook=hook) as c:
        r = c.post(same, content=b"x")
        assert r.status_code == 200
        assert seen[0]["status"] == 302 and seen[0]["method"] == "POST"
        assert seen[0]["next_method"] == "GET" and seen[0]["hops"] == 0
        _, away = lab.script([{"status": 307, "location": "{b}/s/{id}/1"}, {"status": 200}])
        stopped = c.post(away, content=b"x")
    assert stopped.status_code == 307, "stopped: the 307 comes back"
    assert len(seen) == 2 and seen[1]["next_method"] == "POST"


def test_raising_rejects_the_redirect(lab: Lab) -> None:
    def hook(info: dict[str, Any]) -> None:
        raise ValueError(f"not to {info['to']}")

    sid, url = lab.script([{"status": 307, "location": "{b}/s/{id}/1"}, {"status": 200}])
    with lab.client(redirect_hook=hook) as c, pytest.raises(hopsafe.RedirectRejectedError) as info:
        c.get(url)
    assert "ValueError: not to" in str(info.value)
    assert len(lab.records(sid)) == 1, "the other origin was never contacted"


def test_the_async_client_asks_the_hook_too(lab: Lab) -> None:
    _, url = lab.script([{"status": 307, "location": "{b}/s/{id}/1"}, {"status": 200}])

    async def go() -> int:
        async with lab.async_client(redirect_hook=lambda info: False) as c:
            return (await c.get(url)).status_code

    assert asyncio.run(go()) == 307


def test_a_hook_that_is_not_callable_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        hopsafe.Client(redirect_hook="stop")  # type: ignore[arg-type]
