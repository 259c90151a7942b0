"""The redirect, credential and idempotency rules through the Python API (sync and async)."""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import threading

import pytest

import hopsafe
from conftest import Lab, header

BODY = b'{"order":"A-1"}'
SHA = hashlib.sha256(BODY).hexdigest()


@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_307_308_keep_method_body_and_headers(lab: Lab, status: int, method: str) -> None:
    sid, url = lab.script([{"status": status, "location": "{b}/s/{id}/1"}, {"status": 200}])
    with lab.client() as c:
        r = c.request(method, url, content=BODY, headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.method == method and len(r.history) == 1
    recs = lab.records(sid)
    assert [x["method"] for x in recs] == [method, method]
    assert all(x["body_sha256"] == SHA for x in recs)
    assert header(recs[1], "content-type") == "application/json"


@pytest.mark.parametrize(("status", "method", "expected"), [
    (301, "POST", "GET"), (302, "POST", "GET"), (302, "PUT", "PUT"), (301, "DELETE", "DELETE"),
    (303, "POST", "GET"), (303, "PUT", "GET"), (303, "HEAD", "HEAD"),
])
def test_method_rewrites(lab: Lab, status: int, method: str, expected: str) -> None:
    sid, url = lab.script([{"status": status, "location": "/s/{id}/1"}, {"status": 200}])
    content = None if method == "HEAD" else BODY
    r = lab.client().request(method, url, content=content, headers={"content-type": "text/plain"})
    assert r.method == expected
    last = lab.records(sid)[1]
    assert last["method"] == expected
    if expected != method:
        assert last["body_len"] == 0 and header(last, "content-type") is None
        assert ("content-type", "method-changed") in r.history[0].dropped


@pytest.mark.parametrize("status", [300, 304, 305, 306])
def test_other_3xx_are_returned(lab: Lab, status: int) -> None:
    sid, url = lab.script([{"status": status, "location": "/s/{id}/1"}, {"status": 200}])
    assert lab.client().post(url, content=BODY).status_code == status
    assert len(lab.records(sid)) == 1


@pytest.mark.parametrize("target", ["b", "a2", "a_name", "tls"])
def test_cross_origin_strips_credentials(lab: Lab, target: str) -> None:
    sid, url = lab.script([{"status": 307, "location": "{" + target + "}/s/{id}/1"}, {"status": 200}])
    creds = {"Authorization": "Bearer s", "cookie": "a=1", "Proxy-Authorization": "Basic x", "X-Api-Key": "k"}
    r = lab.client(sensitive_headers=["x-api-key"]).post(url, content=BODY, headers=creds)
    first, second = lab.records(sid)
    for name in creds:
        assert header(first, name) is not None
        assert header(second, name) is None, name
    assert {name for name, reason in r.history[0].dropped if reason == "cross-origin"} >= {"authorization", "cookie"}


@pytest.mark.parametrize("back", ["a", "b"])
def test_stripping_is_sticky(lab: Lab, back: str) -> None:
    sid, url = lab.script([
        {"status": 302, "location": "{b}/s/{id}/1"},
        {"status": 302, "location": "{" + back + "}/s/{id}/2"},
        {"status": 200},
    ])
    lab.client().get(url, headers={"authorization": "Bearer s"})
    recs = lab.records(sid)
    assert header(recs[0], "authorization") == "Bearer s"
    assert header(recs[1], "authorization") is None and header(recs[2], "authorization") is None


def test_same_origin_and_trusted_origins_keep_credentials(lab: Lab) -> None:
    sid, url = lab.script([{"status": 307, "location": "/s/{id}/1"}, {"status": 200}])
    lab.client().post(url, content=BODY, headers={"Authorization": "Bearer s"})
    assert header(lab.records(sid)[1], "authorization") == "Bearer s"
    sid, url = lab.script([{"status": 307, "location": "{tls_b}/s/{id}/1"}, {"status": 200}], origin="tls")
    lab.client(trusted_origins=[lab.origins["tls_b"]]).post(url, content=BODY, headers={"Authorization": "Bearer s"})
    assert header(lab.records(sid)[1], "authorization") == "Bearer s"


def test_downgrade_is_refused_unless_allowed(lab: Lab) -> None:
    sid, url = lab.script([{"status": 307, "location": "{a}/s/{id}/1"}, {"status": 200}], origin="tls")
    with pytest.raises(hopsafe.InsecureRedirectError) as e:
        lab.client().post(url, content=BODY)
    assert len(e.value.history) == 1 and isinstance(e.value, hopsafe.HopsafeError)
    sid, url = lab.script([{"status": 307, "location": "{a}/s/{id}/1"}, {"status": 200}], origin="tls")
    r = lab.client(allow_https_downgrade=True).post(url, content=BODY, headers={"Authorization": "Bearer s"})
    assert r.status_code == 200 and header(lab.records(sid)[1], "authorization") is None


def test_limits_and_loops(lab: Lab) -> None:
    steps = [{"status": 307, "location": f"/s/{{id}}/{i}"} for i in range(1, 4)] + [{"status": 200}]
    _, url = lab.script(steps)
    with pytest.raises(hopsafe.TooManyRedirectsError) as e:
        lab.client(max_redirects=2).post(url, content=BODY)
    assert len(e.value.history) == 3
    _, url = lab.script(steps)
    assert lab.client(max_redirects=0).post(url, content=BODY).status_code == 307
    _, url = lab.script(steps)
    assert lab.client().post(url, content=BODY, follow_redirects=False).status_code == 307
    _, url = lab.script([{"status": 307, "location": "{b}/s/{id}/1"}, {"status": 307, "location": "{a}/s/{id}/0"}])
    with pytest.raises(hopsafe.RedirectLoopError):
        lab.client().post(url, content=BODY)
    _, url = lab.script([{"status": 302, "location": "javascript:alert(1)"}])
    with pytest.raises(hopsafe.UnsupportedSchemeError):
        lab.client().get(url)


def test_errors_say_whether_a_write_was_accepted(lab: Lab) -> None:
    _, url = lab.script([{"status": 303, "location": "ftp://127.0.0.1/gone"}])
    with pytest.raises(hopsafe.UnsupportedSchemeError) as accepted:
        lab.client().post(url, content=BODY)
    assert accepted.value.write_accepted and len(accepted.value.history) == 1
    _, url = lab.script([{"status": 307, "location": "ftp://127.0.0.1/gone"}])
    with pytest.raises(hopsafe.UnsupportedSchemeError) as replayed:
        lab.client().post(url, content=BODY)
    assert not replayed.value.write_accepted and len(replayed.value.history) == 1
    _, url = lab.script([{"status": 303, "location": "/s/{id}/1"}, {"status": 500, "body": ""}])
    with pytest.raises(hopsafe.HTTPStatusError) as failed:
        lab.client().post(url, content=BODY).raise_for_status()
    assert failed.value.write_accepted


def test_key_honoring_origins_are_validated(lab: Lab) -> None:
    lab.client(key_honoring_origins=[lab.origins["a"], "https://*.example.com"]).close()
    for cls in (hopsafe.Client, hopsafe.AsyncClient):
        with pytest.raises(hopsafe.InvalidConfigError):
            cls(key_honoring_origins=["ftp://files.example.com"])
        with pytest.raises(TypeError):
            cls(key_honoring_origins="https://a.example.com")


def test_errors_are_grouped_and_timeouts_are_builtin_timeouts(lab: Lab) -> None:
    c = lab.client()
    with pytest.raises(hopsafe.InvalidInputError) as bad:
        c.get("not a url")
    assert type(bad.value) is hopsafe.InvalidUrlError
    with pytest.raises(hopsafe.NetworkError) as refused:
        c.get("http://127.0.0.1:9/")
    assert type(refused.value) is hopsafe.ConnectError
    _, url = lab.script([{"status": 307, "location": "/s/{id}/0"}])
    with pytest.raises(hopsafe.RedirectError) as loop:
        c.post(url, content=BODY)
    assert isinstance(loop.value, hopsafe.RedirectLoopError | hopsafe.TooManyRedirectsError)
    _, slow = lab.script([{"status": 200, "faults": ["delay_ms:5000"]}])
    # The builtin: `except TimeoutError` catches hopsafe's without importing it.
    with pytest.raises(builtins.TimeoutError) as late:
        c.get(slow, timeout=0.2)
    assert type(late.value) is hopsafe.TimeoutError
    assert isinstance(late.value, hopsafe.NetworkError) and late.value.phase == "total"
    c.close()


def test_idempotency_keys(lab: Lab) -> None:
    sid, url = lab.script([{"status": 307, "location": "{b}/s/{id}/1"}, {"status": 200, "apply": True}])
    r = lab.client().post(url, json={"a": 1})
    recs = lab.records(sid)
    assert r.idempotency_key and all(x["idempotency_key"] == f'"{r.idempotency_key}"' for x in recs)
    assert r.history[0].idempotency_key == r.idempotency_key
    sid, url = lab.script([{"status": 303, "location": "/s/{id}/1"}, {"status": 200}])
    r = lab.client().post(url, content=BODY)
    assert lab.records(sid)[1]["idempotency_key"] is None and r.idempotency_key is None
    sid, url = lab.script([{"status": 200}])
    lab.client().put(url, content=BODY, idempotency_key="order-42")
    assert lab.records(sid)[0]["idempotency_key"] == '"order-42"'
    sid, url = lab.script([{"status": 200}])
    lab.client().post(url, content=BODY, idempotency_key=False)
    assert lab.records(sid)[0]["idempotency_key"] is None
    sid, url = lab.script([{"status": 200}])
    lab.client(idempotency_key_format="bare").post(url, content=BODY, idempotency_key="k1")
    assert lab.records(sid)[0]["idempotency_key"] == "k1"


def test_keyed_write_retried_after_reset_is_applied_once(lab: Lab) -> None:
    def failover() -> tuple[str, str]:
        return lab.script([{"status": 307, "location": "{b}/s/{id}/1"},
                           {"status": 200, "apply": True, "faults": ["reset_after_read"]}])
    # A generated key proves nothing about the server: the write is delivered once.
    sid, url = failover()
    with pytest.raises(hopsafe.TransportError):
        lab.client().post(url, content=BODY)
    assert lab.writes(sid)["deliveries"] == 1
    # The standby declared as honouring keys, or a key the caller supplied: retried, applied once.
    declared = lab.client(key_honoring_origins=[lab.origins["b"]])
    for send in (lambda u: declared.post(u, content=BODY),
                 lambda u: lab.client().post(u, content=BODY, idempotency_key="order-7")):
        sid, url = failover()
        r = send(url)
        assert r.status_code == 200 and r.attempts == 2
        w = lab.writes(sid)
        assert w["deliveries"] == 2 and w["applications"] == 1
    sid, url = lab.script([{"status": 200, "apply": True, "faults": ["reset_after_read"]}])
    with pytest.raises(hopsafe.TransportError):
        lab.client().post(url, content=BODY, idempotency_key=False)
    assert lab.writes(sid)["deliveries"] == 1


def test_response_api(lab: Lab) -> None:
    _, url = lab.script([{"status": 200}])
    r = lab.client(headers={"X-Default": "d"}).get(url, params={"q": "a b"})
    assert r.is_success and r.json()["method"] == "GET" and "q=a+b" in r.url
    assert r.headers["Content-Type"] == r.headers["content-type"]
    assert "x-default" in r.json()["headers"]
    _, url = lab.script([{"status": 404, "body": "nope"}])
    r = lab.client().get(url)
    assert r.text == "nope"
    with pytest.raises(hopsafe.HTTPStatusError) as e:
        r.raise_for_status()
    assert e.value.response is r


def test_bad_arguments_raise_clear_errors(lab: Lab) -> None:
    c = lab.client()
    with pytest.raises(hopsafe.InvalidUrlError):
        c.get("not a url")
    with pytest.raises(hopsafe.UnsupportedSchemeError):
        c.get("ftp://example.com/")
    with pytest.raises(hopsafe.InvalidHeaderError):
        c.get(lab.origins["a"] + "/echo", headers={"x": "a\r\nb: c"})
    with pytest.raises(hopsafe.InvalidHeaderError):
        c.get(lab.origins["a"] + "/echo", headers={"x": "café"})
    with pytest.raises(hopsafe.InvalidMethodError):
        c.request("GE T", lab.origins["a"] + "/echo")
    with pytest.raises(TypeError):
        c.get(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        c.post(lab.origins["a"] + "/echo", content=3.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        c.get(lab.origins["a"] + "/echo", headers={"x": 1})  # type: ignore[dict-item]
    with pytest.raises(hopsafe.InvalidConfigError):
        hopsafe.Client(trusted_origins=["http://plain.example"])
    with pytest.raises(hopsafe.InvalidConfigError):
        hopsafe.Client(idempotency_key_format="weird")
    with pytest.raises(hopsafe.ConnectError):
        c.get("http://127.0.0.1:9/")
    c.close()
    with pytest.raises(hopsafe.HopsafeError, match="closed"):
        c.get(lab.origins["a"] + "/echo")


def test_sync_client_from_many_threads(lab: Lab) -> None:
    c = lab.client()
    sid, url = lab.script([{"status": 307, "location": "{b}/s/{id}/1"}, {"status": 200, "apply": True}])
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                assert c.post(url, content=BODY).status_code == 200
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert lab.writes(sid)["applications"] == 80


def test_async_client_gather_and_cancel(lab: Lab) -> None:
    async def main() -> None:
        async with lab.async_client() as c:
            sid, url = lab.script([{"status": 307, "location": "{b}/s/{id}/1"}, {"status": 200}])
            rs = await asyncio.gather(*(c.post(url, content=BODY) for _ in range(50)))
            assert all(r.status_code == 200 and r.method == "POST" for r in rs)
            with pytest.raises(hopsafe.InsecureRedirectError):
                _, url = lab.script([{"status": 307, "location": "{a}/s/{id}/1"}], origin="tls")
                await c.post(url, content=BODY)
            _, slow = lab.script([{"status": 200, "faults": ["delay_ms:5000"]}])
            task = asyncio.ensure_future(c.get(slow))
            await asyncio.sleep(0.2)
            task.cancel()
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert loop.time() - started < 1.0

    asyncio.run(main())


def test_module_level_one_offs(lab: Lab) -> None:
    r = hopsafe.get(lab.origins["a"] + "/echo")
    assert r.status_code == 200 and r.json()["method"] == "GET"
    assert hopsafe.__version__


def test_load_10k_through_redirects_with_256_in_flight(lab: Lab) -> None:
    """10,000 keyed POSTs through a cross-origin 307, 256 in flight: no wrong outcome, no
    write applied twice."""
    sid, url = lab.script([{"status": 307, "location": "{b}/s/{id}/1"}, {"status": 200, "apply": True}])

    async def main() -> list[bool]:
        gate = asyncio.Semaphore(256)
        async with lab.async_client() as c:
            async def one(i: int) -> bool:
                async with gate:
                    r = await c.post(url, content=f"order-{i}".encode())
                    return r.status_code == 200 and r.method == "POST" and r.json()["body"] == f"order-{i}"
            return await asyncio.gather(*(one(i) for i in range(10_000)))

    outcomes = asyncio.run(main())
    assert outcomes.count(False) == 0
    w = lab.writes(sid)
    assert w["applications"] == 10_000 and w["deliveries"] == 10_000
    assert set(w["keys"].values()) == {1}
