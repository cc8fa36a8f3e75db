"""Usage analytics through the real gateway: a synthetic log written into its SQLite file plus
real calls to demo/echo, every figure checked against direct SQL over model_calls."""
from __future__ import annotations

import csv
import io
import math
import random
import sqlite3
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from chalicelib.analytics import histogram, periods
from chalicelib.billing.units import MINOR_PER_CREDIT, from_minor
from tests.bench.analytics import INSERT_SQL, population, synthetic_calls
from tests.support.gateway import Gateway, start_gateway

DAY = periods.DAY
SUMS = ("COUNT(*), COALESCE(SUM(status = 'failed'), 0), COALESCE(SUM(prompt_tokens), 0),"
        " COALESCE(SUM(completion_tokens), 0), COALESCE(SUM(cache_read_tokens), 0),"
        " COALESCE(SUM(cache_write_tokens), 0), COALESCE(SUM(reasoning_tokens), 0), COALESCE(SUM(images), 0),"
        " COALESCE(SUM(credits), 0)")
NAMES = ("calls", "errors", "prompt_tokens", "completion_tokens", "cache_read_tokens", "cache_write_tokens",
         "reasoning_tokens", "images", "credits")


class World:
    """The gateway, two accounts (A with keys a1 and a2, B with key b) and clients for each."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.admin = httpx.Client(base_url=gateway.url, headers={"authorization": f"Bearer {gateway.admin_key}"},
                                  timeout=30)
        self.a1 = self._key({"name": "a1", "credits": 50})
        self.a2 = self._key({"name": "a2", "account_id": self.a1["account_id"]})
        self.b = self._key({"name": "b", "credits": 5})
        self.now = int(time.time() * 1000)

    def _key(self, spec: dict[str, Any]) -> dict[str, Any]:
        created = self.admin.post("/admin/keys", json=spec)
        assert created.status_code == 201, created.text
        return created.json()

    def client(self, key: dict[str, Any]) -> httpx.Client:
        return httpx.Client(base_url=self.gateway.url, headers={"authorization": f"Bearer {key['key']}"}, timeout=30)

    def sql(self, query: str, values: Any = ()) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.gateway.db_path) as db:
            return db.execute(query, values).fetchall()

    def chat(self, key: dict[str, Any], text: str, stream: bool = False) -> str:
        response = self.client(key).post("/v1/chat/completions", json={
            "model": "demo/echo", "messages": [{"role": "user", "content": text}], "stream": stream})
        assert response.status_code == 200, response.text
        return response.headers["x-request-id"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    gateway = start_gateway(tmp_path_factory.mktemp("usage"), {})
    try:
        w = World(gateway)
        # 4,000 synthetic calls over 60 days: accounts A, B and one with no key here; then real calls.
        rng = random.Random(5)
        pop = population(rng, accounts=3, keys=6, models_per_provider=3)
        accounts = {"acct_0000": w.a1["account_id"], "acct_0001": w.b["account_id"], "acct_0002": "acct_elsewhere"}
        keys = {"key_0000": w.a1["id"], "key_0001": w.b["id"]}
        rows = [(r[0], r[1], accounts[r[2]], keys.get(r[3], r[3]), *r[4:])
                for r in synthetic_calls(rng, pop, 4000, w.now - 60 * DAY, w.now - 60_000)]
        with sqlite3.connect(gateway.db_path) as db:
            db.executemany(INSERT_SQL, rows)
        w.real = [w.chat(w.a1, "hello analytics"), w.chat(w.a1, "stream me", stream=True),
                  w.chat(w.a2, "second key"), w.chat(w.b, "other account")]
        yield w
    finally:
        gateway.stop()


def expected_sums(world: World, where: str, values: list[Any]) -> dict[str, Any]:
    row = world.sql(f"SELECT {SUMS} FROM model_calls WHERE {where}", values)[0]
    sums = dict(zip(NAMES, row))
    sums["credits"] = from_minor(sums["credits"])
    return sums


def assert_metrics(world: World, metrics: dict[str, Any], where: str, values: list[Any]) -> None:
    assert {n: metrics[n] for n in NAMES} == expected_sums(world, where, values)
    for column in ("duration_ms", "ttfb_ms"):
        observed = sorted(v for (v,) in world.sql(f"SELECT {column} FROM model_calls WHERE {where}"
                                                  f" AND {column} IS NOT NULL", values))
        for percent, name in ((50, "p50"), (95, "p95")):
            if not observed:
                assert metrics[column][name] is None
                continue
            exact = observed[max(1, math.ceil(percent * len(observed) / 100)) - 1]
            reported = metrics[column][name]
            assert reported == 0 if exact < histogram.MIN_MS else \
                abs(reported - exact) <= exact * histogram.RESOLUTION + 0.0005, (column, name, reported, exact)


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


@pytest.mark.parametrize("window", ["default", "iso", "epoch", "date"])
def test_user_summary_matches_sql(world, window):
    now = world.now
    query, where, values = {
        "default": ({}, "created_at >= ?", [now - 30 * DAY]),
        "iso": ({"from": iso(now - 40 * DAY - 5000), "to": iso(now - 3 * DAY)}, "created_at >= ? AND created_at < ?",
                [(now - 40 * DAY - 5000) // 1000 * 1000, (now - 3 * DAY) // 1000 * 1000]),
        "epoch": ({"from": str(now - 59 * DAY - 1234), "to": str(now - 12345)}, "created_at >= ? AND created_at < ?",
                  [now - 59 * DAY - 1234, now - 12345]),
        "date": ({"from": time.strftime("%Y-%m-%d", time.gmtime((now - 20 * DAY) / 1000))}, "created_at >= ?",
                 [periods.floor("day", now - 20 * DAY)]),
    }[window]
    if window == "default":  # the window ends now: count from the one the gateway used
        got = world.client(world.a1).get("/v1/usage/summary").json()
        values = [got["from"]]
    else:
        got = world.client(world.a1).get("/v1/usage/summary", params=query).json()
    assert got["object"] == "usage.summary" and got["account_id"] == world.a1["account_id"]
    assert_metrics(world, got, f"account_id = ? AND {where}", [world.a1["account_id"], *values])


def test_keys_see_only_their_own_account(world):
    a, b = world.a1["account_id"], world.b["account_id"]
    params = {"from": "0"}
    mine = world.client(world.a1).get("/v1/usage/summary", params=params).json()
    sneaky = world.client(world.a1).get("/v1/usage/summary", params={**params, "account_id": b}).json()
    theirs = world.client(world.b).get("/v1/usage/summary", params=params).json()
    assert mine == {**sneaky, "to": mine["to"]}  # account_id is no parameter of /v1: ignored
    assert mine["calls"] == world.sql("SELECT COUNT(*) FROM model_calls WHERE account_id = ?", (a,))[0][0]
    assert theirs["calls"] == world.sql("SELECT COUNT(*) FROM model_calls WHERE account_id = ?", (b,))[0][0]
    listed = world.client(world.a1).get("/v1/usage/calls", params={"limit": 5000}).json()["data"]
    assert listed and {c["account_id"] for c in listed} == {a}
    assert all("credential_id" not in c and "attempts" not in c for c in listed)
    b_call = world.real[3]
    assert world.client(world.a1).get(f"/v1/usage/calls/{b_call}").status_code == 404
    assert world.client(world.b).get(f"/v1/usage/calls/{b_call}").json()["request_id"] == b_call
    for path in ("summary", "timeseries", "top-models", "quota", "calls", "calls.csv", f"calls/{b_call}"):
        assert world.client(world.a1).get(f"/admin/usage/{path}").status_code == 403


def test_admin_sees_every_account_or_one(world):
    for params, where, values in [
        ({"from": "0"}, "1 = 1", []),
        ({"from": "0", "account_id": world.b["account_id"]}, "account_id = ?", [world.b["account_id"]]),
        ({"from": iso(world.now - 10 * DAY), "provider": "openai", "type": "chat"},
         "created_at >= ? AND provider = ? AND type = ?", [world.now // 1000 * 1000 - 10 * DAY, "openai", "chat"]),
    ]:
        got = world.admin.get("/admin/usage/summary", params=params).json()
        assert_metrics(world, got, where, values)


@pytest.mark.parametrize(("granularity", "days"), [("hour", 3), ("day", 25), ("month", 61)])
def test_timeseries_buckets_match_sql(world, granularity, days):
    start, end = world.now - days * DAY - 4321, world.now - 1000
    got = world.admin.get("/admin/usage/timeseries", params={
        "granularity": granularity, "from": str(start), "to": str(end),
        "account_id": world.a1["account_id"]}).json()
    points = got["data"]
    assert [p["start"] for p in points] == periods.starts(granularity, start, end)
    for point in points:
        assert point["end"] == periods.next_start(granularity, point["start"])
        low, high = max(start, point["start"]), min(end, point["end"])
        assert_metrics(world, point, "account_id = ? AND created_at >= ? AND created_at < ?",
                       [world.a1["account_id"], low, high])


@pytest.mark.parametrize(("group_by", "columns"), [
    ("model", ("provider", "model")), ("provider", ("provider",)), ("key", ("key_id",)),
])
def test_group_by_matches_sql(world, group_by, columns):
    start = world.now - 45 * DAY
    got = world.client(world.a1).get("/v1/usage/summary", params={"from": str(start), "group_by": group_by}).json()
    where, values = "account_id = ? AND created_at >= ?", [world.a1["account_id"], start]
    expected = world.sql(f"SELECT {', '.join(columns)} FROM model_calls WHERE {where} GROUP BY {', '.join(columns)}",
                         values)
    assert sorted(tuple(g[c] for c in columns) for g in got["groups"]) == sorted(expected)
    for group in got["groups"]:
        assert_metrics(world, group, where + "".join(f" AND {c} = ?" for c in columns),
                       values + [group[c] for c in columns])


def test_timeseries_group_by_adds_up(world):
    got = world.client(world.a1).get("/v1/usage/timeseries", params={"granularity": "day", "group_by": "model"}).json()
    assert got["group_by"] == ["model"] and len(got["data"]) in (30, 31)
    for point in got["data"]:
        assert sum(g["calls"] for g in point["groups"]) == point["calls"]
        assert sum(g["prompt_tokens"] for g in point["groups"]) == point["prompt_tokens"]


def test_top_models_and_quota(world):
    a = world.a1["account_id"]
    top = world.client(world.a1).get("/v1/usage/top-models", params={"limit": 2, "by": "credits"}).json()["data"]
    expected = world.sql("SELECT provider, model, SUM(credits) FROM model_calls"
                         " WHERE account_id = ? AND created_at >= ?"
                         " GROUP BY provider, model ORDER BY 3 DESC LIMIT 2", (a, world.now - 30 * DAY))
    assert [(m["provider"], m["model"], m["credits"]) for m in top] == [(p, m, from_minor(c)) for p, m, c in expected]

    quota = world.client(world.a1).get("/v1/usage/quota").json()
    credits = world.client(world.a1).get("/v1/credits").json()
    assert quota["remaining"] == credits["balance"]
    used, recent = world.sql("SELECT SUM(credits), SUM(CASE WHEN created_at >= ? THEN credits ELSE 0 END)"
                             " FROM model_calls WHERE account_id = ?", (quota["as_of"] - 30 * DAY, a))[0]
    assert quota["used"] == from_minor(used) and quota["spent_last_30_days"] == from_minor(recent)
    # A new account: its average is over its first day, not over 30.
    assert quota["avg_window_days"] == 1 and quota["avg_daily_spend"] == from_minor(recent)
    assert quota["days_left"] == pytest.approx(to_minor_units(quota["remaining"]) / recent, abs=0.01)
    everyone = world.admin.get("/admin/usage/quota").json()
    assert everyone["account_id"] is None and everyone["used"] == from_minor(world.sql(
        "SELECT SUM(credits) FROM model_calls")[0][0])
    missing = world.admin.get("/admin/usage/quota", params={"account_id": "acct_missing"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "account_not_found"


def to_minor_units(credits: float) -> int:
    return int(Decimal(str(credits)) * MINOR_PER_CREDIT)


@pytest.mark.parametrize(("params", "where", "values"), [
    ({}, "1 = 1", []),
    ({"status": "failed"}, "status = ?", ["failed"]),
    ({"model": "openai-model-0", "type": "chat"}, "model = ? AND type = ?", ["openai-model-0", "chat"]),
    ({"provider": "google", "from": "2020-01-01", "to": "2999-01-01"},
     "provider = ? AND created_at >= ? AND created_at < ?", ["google", 1577836800000, 32472144000000]),
])
def test_call_log_pages_through_filters(world, params, where, values):
    a = world.a1["account_id"]
    seen, cursor, pages = [], None, 0
    while True:
        page = world.client(world.a1).get("/v1/usage/calls", params={**params, "limit": 97,
                                                                      **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        body = page.json()
        seen += body["data"]
        pages += 1
        cursor = body["next_cursor"]
        assert body["has_more"] is (cursor is not None)
        if cursor is None:
            break
    expected = world.sql(f"SELECT request_id FROM model_calls WHERE account_id = ? AND {where}"
                         " ORDER BY created_at DESC, id DESC", [a, *values])
    assert [c["request_id"] for c in seen] == [r for (r,) in expected]
    assert pages == max(1, math.ceil(len(expected) / 97))


def test_real_calls_show_at_once_with_details(world):
    mine = {"key_id": world.a2["id"]}
    before = world.client(world.a2).get("/v1/usage/summary", params=mine).json()
    request_id = world.chat(world.a2, "count me now")
    after = world.client(world.a2).get("/v1/usage/summary", params=mine).json()
    assert after["calls"] == before["calls"] + 1 == 2 and after["filters"] == mine
    newest = world.client(world.a2).get("/v1/usage/calls", params={"limit": 1}).json()["data"][0]
    assert newest["request_id"] == request_id
    detail = world.client(world.a2).get(f"/v1/usage/calls/{request_id}").json()
    assert detail["provider"] == "demo" and detail["status"] == "success" and detail["prompt_tokens"] == 3
    assert detail["key_id"] == world.a2["id"] and "credential_id" not in detail
    assert world.admin.get(f"/admin/usage/calls/{request_id}").json()["request_id"] == request_id
    assert world.admin.get("/admin/usage/calls/req_nope").status_code == 404


def test_csv_export_matches_the_log(world):
    response = world.client(world.a1).get("/v1/usage/calls.csv", params={"from": "0", "limit": 100000})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    expected = world.sql("SELECT request_id, credits, created_at FROM model_calls WHERE account_id = ?"
                         " ORDER BY created_at DESC, id DESC", (world.a1["account_id"],))
    assert response.text.splitlines()[0].startswith("request_id,created_at,time,")
    assert [(r["request_id"], Decimal(r["credits"]), int(r["created_at"])) for r in rows] == \
        [(rid, Decimal(c) / MINOR_PER_CREDIT, t) for rid, c, t in expected]
    assert len(rows) > 2000  # more than one chunk of the stream
    limited = world.admin.get("/admin/usage/calls.csv", params={"limit": 10})
    assert len(limited.text.splitlines()) == 11


@pytest.mark.parametrize(("path", "params", "param"), [
    ("summary", {"from": "last week"}, "from"),
    ("summary", {"from": "2024-02-02", "to": "2024-02-01"}, "from"),
    ("summary", {"group_by": "colour"}, "group_by"),
    ("summary", {"type": "sound"}, "type"),
    ("timeseries", {"granularity": "minute"}, "granularity"),
    ("timeseries", {"granularity": "hour", "from": "2020-01-01"}, "granularity"),
    ("top-models", {"limit": "0"}, "limit"),
    ("top-models", {"by": "speed"}, "by"),
    ("calls", {"limit": "5001"}, "limit"),
    ("calls", {"cursor": "bogus"}, "cursor"),
    ("calls", {"status": "ok"}, "status"),
    ("calls", {"to": "x"}, "to"),
    ("calls.csv", {"limit": "-1"}, "limit"),
])
def test_bad_parameters_are_400_naming_them(world, path, params, param):
    response = world.client(world.a1).get(f"/v1/usage/{path}", params=params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and f"'{param}'" in error["message"]


def test_a_key_without_an_account_is_told_to_use_admin(world):
    response = world.admin.get("/v1/usage/summary")
    assert response.status_code == 400 and response.json()["error"]["code"] == "no_account"


def test_chalice_front_serves_usage_and_csv(world, local_env):
    from chalice.test import Client

    import app
    from chalicelib import config

    # Settings read now, from this gateway's file, are the ones the requests keep (the Client
    # applies its stage's environment around each request).
    local_env({"AIHUB_DB": str(world.gateway.db_path)})
    config.settings()
    headers = {"authorization": f"Bearer {world.a1['key']}"}
    with Client(app.app) as client:
        summary = client.http.get("/v1/usage/summary?from=0", headers=headers)
        exported = client.http.get("/v1/usage/calls.csv?limit=5", headers=headers)
    assert summary.status_code == 200, summary.body
    assert summary.json_body["calls"] == world.sql("SELECT COUNT(*) FROM model_calls WHERE account_id = ?",
                                                   (world.a1["account_id"],))[0][0]
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert len(exported.body.decode().splitlines()) == 6
