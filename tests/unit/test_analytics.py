"""Usage analytics: the pure pieces table-driven, then the roll-up and every query against direct
SQL over a synthetic call log in a temporary database (exact sums; percentiles within a bucket)."""
from __future__ import annotations

import asyncio
import csv
import io
import math
import random
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.analytics import calllog, histogram, params, periods, reports, rollup
from chalicelib.analytics.periods import DAY, HOUR, Piece, Window
from chalicelib.analytics.scope import Scope, group_columns
from chalicelib.billing.units import MINOR_PER_CREDIT, from_minor
from chalicelib.errors import ApiError
from tests.bench.analytics import INSERT_SQL, insert_calls, population, synthetic_calls


def ms(iso: str) -> int:
    moment = datetime.fromisoformat(iso)
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


def nearest_rank(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent * len(ordered) / 100)) - 1]


def assert_percentile(reported: float | None, values: list[float], percent: int) -> None:
    if not values:
        assert reported is None
        return
    exact = nearest_rank(values, percent)
    if exact < histogram.MIN_MS:
        assert reported == 0
        return
    # Within the bucket's half-width, plus the 3-decimal rounding of the JSON.
    assert abs(reported - exact) <= exact * histogram.RESOLUTION + 0.0005, (reported, exact)


# Histogram ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "bucket"), [
    (0, 0), (-1, 0), (0.0099, 0), (0.01, 1), (0.0109, 1), (0.011, 2), (0.02, 9), (1, 54), (1000, 133), (1e12, 255),
])
def test_bucket_of(value, bucket):
    assert histogram.bucket_of(value) == bucket


def test_every_value_falls_inside_its_bucket_and_reads_within_resolution():
    rng = random.Random(1)
    for value in [rng.lognormvariate(3, 4) for _ in range(5000)]:
        bucket = histogram.bucket_of(value)
        low, high = histogram.bucket_bounds(bucket)
        assert low <= value < high
        if 0 < bucket < histogram.BUCKETS - 1:
            read = histogram.value_of(bucket)
            assert abs(read - value) <= value * histogram.RESOLUTION * (1 + 1e-9)


@pytest.mark.parametrize("hist", [{}, {0: 1}, {5: 3, 255: 2**40}, {b: b + 1 for b in range(256)}])
def test_encode_round_trip(hist):
    decoded: dict[int, int] = {}
    histogram.add_blob(decoded, histogram.encode(hist))
    assert decoded == hist
    assert histogram.encode_one(7) == histogram.encode({7: 1})


@pytest.mark.parametrize(("a", "b", "merged"), [
    ({}, {}, {}),
    ({1: 2}, {}, {1: 2}),
    ({}, {9: 1}, {9: 1}),
    ({1: 2, 5: 1}, {5: 3, 255: 1}, {1: 2, 5: 4, 255: 1}),
])
def test_merge_blobs(a, b, merged):
    out: dict[int, int] = {}
    histogram.add_blob(out, histogram.merge_blobs(histogram.encode(a), histogram.encode(b)))
    assert out == merged


@pytest.mark.parametrize(("hist", "percent", "bucket"), [
    ({}, 50, None),
    ({10: 1}, 50, 10),
    ({10: 1}, 95, 10),
    ({1: 1, 2: 1}, 50, 1),
    ({1: 1, 2: 1}, 95, 2),
    ({1: 95, 2: 5}, 95, 1),
    ({1: 94, 2: 6}, 95, 2),
    ({1: 95 * 10**12, 2: 5 * 10**12}, 95, 1),  # exact at counts where a float product would round
    ({0: 3}, 50, 0),
])
def test_percentile_is_nearest_rank_by_bucket(hist, percent, bucket):
    expected = None if bucket is None else histogram.value_of(bucket)
    assert histogram.percentile(hist, percent) == expected


@pytest.mark.parametrize("n", [1, 2, 7, 100, 1001])
@pytest.mark.parametrize("percent", [50, 95])
def test_percentile_within_resolution_of_exact(n, percent):
    rng = random.Random(n)
    values = [rng.lognormvariate(6, 1.5) for _ in range(n)]
    hist: dict[int, int] = {}
    for v in values:
        hist[histogram.bucket_of(v)] = hist.get(histogram.bucket_of(v), 0) + 1
    assert_percentile(histogram.percentile(hist, percent), values, percent)


# Periods --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("grain", "moment", "start"), [
    ("hour", "2024-02-29T13:45:10.500", "2024-02-29T13:00"),
    ("hour", "2024-02-29T13:00", "2024-02-29T13:00"),
    ("day", "2024-02-29T23:59:59.999", "2024-02-29"),
    ("month", "2024-02-29T13:45", "2024-02-01"),
    ("month", "2023-12-31T23:59:59.999", "2023-12-01"),
    ("month", "2024-01-01", "2024-01-01"),
])
def test_floor(grain, moment, start):
    assert periods.floor(grain, ms(moment)) == ms(start)


@pytest.mark.parametrize(("grain", "start", "following"), [
    ("hour", "2024-02-29T23:00", "2024-03-01T00:00"),
    ("day", "2024-02-28", "2024-02-29"),
    ("month", "2024-01-01", "2024-02-01"),
    ("month", "2024-02-01", "2024-03-01"),
    ("month", "2023-02-01", "2023-03-01"),
    ("month", "2023-12-01", "2024-01-01"),
])
def test_next_start(grain, start, following):
    assert periods.next_start(grain, ms(start)) == ms(following)


@pytest.mark.parametrize(("grain", "moment", "ceiling"), [
    ("hour", "2024-01-01T10:00", "2024-01-01T10:00"),
    ("hour", "2024-01-01T10:00:00.001", "2024-01-01T11:00"),
    ("day", "2024-01-31T00:01", "2024-02-01"),
    ("month", "2024-12-31T12:00", "2025-01-01"),
])
def test_ceil(grain, moment, ceiling):
    assert periods.ceil(grain, ms(moment)) == ms(ceiling)


@pytest.mark.parametrize(("grain", "start", "end", "starts"), [
    ("hour", "2024-01-01T00:30", "2024-01-01T02:00", ["2024-01-01T00:00", "2024-01-01T01:00"]),
    ("hour", "2024-01-01T00:00", "2024-01-01T00:00:00.001", ["2024-01-01T00:00"]),
    ("day", "2024-01-31T12:00", "2024-02-02", ["2024-01-31", "2024-02-01"]),
    ("month", "2023-11-15", "2024-02-01", ["2023-11-01", "2023-12-01", "2024-01-01"]),
    ("month", "2024-01-01", "2024-01-01", []),
])
def test_starts_and_count(grain, start, end, starts):
    assert periods.starts(grain, ms(start), ms(end)) == [ms(s) for s in starts]
    assert periods.count(grain, ms(start), ms(end)) == len(starts)


def piece(grain: str, start: str, end: str | None) -> Piece:
    return Piece(grain, ms(start), None if end is None else ms(end))


@pytest.mark.parametrize(("start", "end", "coarsest", "pieces"), [
    ("2024-01-10T10:30", "2024-01-10T12:00", "month",
     [piece("raw", "2024-01-10T10:30", "2024-01-10T11:00"), piece("hour", "2024-01-10T11:00", "2024-01-10T12:00")]),
    ("2024-01-30T22:15", "2024-03-02T01:10", "month", [
        piece("raw", "2024-01-30T22:15", "2024-01-30T23:00"), piece("hour", "2024-01-30T23:00", "2024-01-31"),
        piece("day", "2024-01-31", "2024-02-01"), piece("month", "2024-02-01", "2024-03-01"),
        piece("day", "2024-03-01", "2024-03-02"), piece("hour", "2024-03-02T00:00", "2024-03-02T01:00"),
        piece("raw", "2024-03-02T01:00", "2024-03-02T01:10")]),
    ("2024-01-30T22:15", "2024-03-02T01:10", "day", [
        piece("raw", "2024-01-30T22:15", "2024-01-30T23:00"), piece("hour", "2024-01-30T23:00", "2024-01-31"),
        piece("day", "2024-01-31", "2024-03-02"), piece("hour", "2024-03-02T00:00", "2024-03-02T01:00"),
        piece("raw", "2024-03-02T01:00", "2024-03-02T01:10")]),
    ("2024-01-30T22:15", None, "month", [
        piece("raw", "2024-01-30T22:15", "2024-01-30T23:00"), piece("hour", "2024-01-30T23:00", "2024-01-31"),
        piece("day", "2024-01-31", "2024-02-01"), piece("month", "2024-02-01", None)]),
    ("2024-01-30T22:15", None, "hour",
     [piece("raw", "2024-01-30T22:15", "2024-01-30T23:00"), piece("hour", "2024-01-30T23:00", None)]),
    ("2024-02-01", "2024-03-01", "month", [piece("month", "2024-02-01", "2024-03-01")]),
    ("2024-02-01T10:10", "2024-02-01T10:20", "month", [piece("raw", "2024-02-01T10:10", "2024-02-01T10:20")]),
    ("2024-02-01", "2024-02-01", "month", []),
])
def test_split(start, end, coarsest, pieces):
    assert periods.split(ms(start), None if end is None else ms(end), coarsest) == pieces


def test_split_covers_any_range_with_aligned_pieces():
    rng = random.Random(3)
    for _ in range(500):
        start = ms("2023-06-01") + rng.randrange(400 * DAY)
        end = start + rng.choice([0, 1, rng.randrange(2 * HOUR), rng.randrange(100 * DAY)])
        coarsest = rng.choice(periods.GRAINS)
        parts = periods.split(start, end, coarsest)
        if start == end:
            assert parts == []
            continue
        assert parts[0].start == start and parts[-1].end == end
        assert all(a.end == b.start for a, b in zip(parts, parts[1:]))
        for p in parts:
            if p.grain != periods.RAW:
                assert periods.GRAINS.index(p.grain) <= periods.GRAINS.index(coarsest)
                assert periods.floor(p.grain, p.start) == p.start and periods.floor(p.grain, p.end) == p.end


# Parameters -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("1700000000000", 1700000000000),
    (" 0 ", 0),
    ("2024-05-01", ms("2024-05-01")),
    ("2024-05-01T10:00:00Z", ms("2024-05-01T10:00")),
    ("2024-05-01T12:00:00+02:00", ms("2024-05-01T10:00")),
    ("2024-05-01T10:00:00.250", ms("2024-05-01T10:00:00.250")),
    ("", None),
])
def test_timestamp(raw, expected):
    assert params.timestamp({"from": raw}, "from") == expected


NOW = ms("2024-06-15T12:34:56")


@pytest.mark.parametrize(("query", "window"), [
    ({}, Window(NOW - 30 * DAY, None, NOW)),
    ({"to": "2024-06-01"}, Window(ms("2024-06-01") - 30 * DAY, ms("2024-06-01"), NOW)),
    ({"from": "2024-06-01", "to": "2024-06-02"}, Window(ms("2024-06-01"), ms("2024-06-02"), NOW)),
    ({"from": "2024-06-01"}, Window(ms("2024-06-01"), None, NOW)),
    ({"to": "1000"}, Window(0, 1000, NOW)),
])
def test_window(query, window):
    assert params.window(query, NOW) == window


@pytest.mark.parametrize(("call", "param"), [
    (lambda: params.timestamp({"from": "yesterday"}, "from"), "from"),
    (lambda: params.timestamp({"to": "-5"}, "to"), "to"),
    (lambda: params.timestamp({"to": "2024-13-01"}, "to"), "to"),
    (lambda: params.timestamp({"to": "99999999999999999"}, "to"), "to"),
    (lambda: params.timestamp({"to": "\u00b2"}, "to"), "to"),
    (lambda: params.window({"from": "2024-06-02", "to": "2024-06-01"}, NOW), "from"),
    (lambda: params.time_range({"from": "5", "to": "5"}), "from"),
    (lambda: params.granularity({"granularity": "week"}, Window(0, DAY, NOW)), "granularity"),
    (lambda: params.granularity({"granularity": "hour"}, Window(NOW - 90 * DAY, None, NOW)), "granularity"),
    (lambda: params.group_by({"group_by": "color"}), "group_by"),
    (lambda: params.group_by({"group_by": "model,"}), "group_by"),
    (lambda: params.integer({"limit": "abc"}, "limit", 10, 1, 100), "limit"),
    (lambda: params.integer({"limit": "0"}, "limit", 10, 1, 100), "limit"),
    (lambda: params.integer({"limit": "101"}, "limit", 10, 1, 100), "limit"),
    (lambda: params.scope({"type": "music"}, None), "type"),
    (lambda: params.status({"status": "ok"}), "status"),
    (lambda: params.cursor({"cursor": "12_x"}), "cursor"),
    (lambda: params.choice({"by": "vibes"}, "by", ("calls", "credits"), "calls"), "by"),
])
def test_bad_parameters_are_400_naming_the_parameter(call, param):
    with pytest.raises(ApiError) as info:
        call()
    assert info.value.status == 400 and info.value.param == param
    assert f"'{param}'" in info.value.message


@pytest.mark.parametrize(("query", "groups"), [
    ({}, ()),
    ({"group_by": ""}, ()),
    ({"group_by": "model"}, ("model",)),
    ({"group_by": "key, model"}, ("key", "model")),
    ({"group_by": "model,model"}, ("model",)),
])
def test_group_by(query, groups):
    assert params.group_by(query) == groups


@pytest.mark.parametrize(("query", "grain"), [
    ({}, "day"), ({"granularity": "hour"}, "hour"), ({"granularity": "month"}, "month"),
])
def test_granularity(query, grain):
    assert params.granularity(query, Window(NOW - 30 * DAY, None, NOW)) == grain


@pytest.mark.parametrize(("needed", "cube"), [
    (set(), "total"), ({"account_id"}, "account"), ({"model", "provider"}, "model"), ({"type"}, "model"),
    ({"account_id", "model"}, "full"), ({"key_id"}, "full"),
])
def test_cube_for(needed, cube):
    assert rollup.cube_for(needed) == cube


# Against SQL, on a synthetic log --------------------------------------------------------------

SQL_SUMS = ("COUNT(*), COALESCE(SUM(status = 'failed'), 0), COALESCE(SUM(prompt_tokens), 0),"
            " COALESCE(SUM(completion_tokens), 0), COALESCE(SUM(cache_read_tokens), 0),"
            " COALESCE(SUM(cache_write_tokens), 0), COALESCE(SUM(reasoning_tokens), 0), COALESCE(SUM(images), 0),"
            " COALESCE(SUM(credits), 0)")
SUM_NAMES = ("calls", "errors", "prompt_tokens", "completion_tokens", "cache_read_tokens", "cache_write_tokens",
             "reasoning_tokens", "images", "credits")


def sql_where(scope: Scope, start: int, end: int | None) -> tuple[str, list[Any]]:
    clauses, values = scope.where()
    clauses.append("created_at >= ?")
    values.append(start)
    if end is not None:
        clauses.append("created_at < ?")
        values.append(end)
    return " WHERE " + " AND ".join(clauses), values


def assert_matches_sql(store, metrics: dict[str, Any], where: str, values: list[Any]) -> None:
    row = store.query_one(f"SELECT {SQL_SUMS} FROM model_calls{where}", values)
    expected = dict(zip(SUM_NAMES, row))
    expected["credits"] = from_minor(expected["credits"])
    assert {name: metrics[name] for name in SUM_NAMES} == expected
    assert metrics["total_tokens"] == sum(expected[n] for n in SUM_NAMES[2:6])
    for column, name in (("duration_ms", "duration_ms"), ("ttfb_ms", "ttfb_ms")):
        observed = [r[0] for r in store.query(f"SELECT {column} FROM model_calls{where} AND {column} IS NOT NULL",
                                              values)]
        for percent, key in ((50, "p50"), (95, "p95")):
            assert_percentile(metrics[name][key], observed, percent)


@pytest.fixture
def log(local_env):
    """3,000 synthetic calls over 70 days, plus calls with no account or key and odd values."""
    from chalicelib.store.shared import store

    local_env({})
    db = store()
    now = int(datetime.now(UTC).timestamp() * 1000)
    rng = random.Random(7)
    pop = population(rng, accounts=4, keys=10, models_per_provider=3)
    db.write(lambda conn: insert_calls(conn, synthetic_calls(rng, pop, 3000, now - 70 * DAY, now)))
    odd = [  # the environment's admin key (no account, no key), an image, a failure without ttfb
        ("req_odd_1", now - 5 * DAY, None, None, "demo", "echo", "demo/echo", "chat", 0, "success", 200, None,
         3, 7, 0, 0, 0, 0, 0, 0.004, 0.002),
        ("req_odd_2", now - 2 * HOUR, "acct_0001", "key_0001", "openai", "dall-e-3", "dall-e-3", "image", 0,
         "success", 200, None, 12, 0, 0, 0, 0, 2, 80_000_000, 9000.0, 8500.0),
        ("req_odd_3", now - 40 * DAY, "acct_0001", "key_0001", "openai", "gpt-x", "gpt-x", "chat", 1, "failed",
         502, "upstream_error", 0, 0, 0, 0, 0, 0, 0, 30001.5, None),
    ]
    db.write(lambda conn: conn.executemany(INSERT_SQL, odd))
    return db, now, pop


SCOPES = [
    Scope(),
    Scope("acct_0001"),
    Scope("acct_0001", model="openai-model-0"),
    Scope(key_id="key_0003"),
    Scope(provider="anthropic", type="chat"),
    Scope("acct_0002", key_id="key_0002", provider="google", model="google-model-1", type="chat"),
]


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize(("start", "end"), [
    (-30 * DAY, None),
    (-69 * DAY - 13 * HOUR - 1234, -3 * DAY + 1),
    (-71 * DAY, 0),
    (-HOUR // 2, None),
    (-45 * DAY, -44 * DAY - 5),
])
def test_summary_matches_sql(log, scope, start, end):
    db, now, _ = log
    window = Window(now + start, None if end is None else now + end, now)
    got = reports.summary(db, scope, window, ())
    assert_matches_sql(db, got, *sql_where(scope, window.start, window.end))
    assert (got["from"], got["to"]) == (window.start, window.stop)


@pytest.mark.parametrize("groups", [("model",), ("provider",), ("key",), ("type",), ("account",), ("key", "model")])
@pytest.mark.parametrize("scope", [Scope(), Scope("acct_0001")])
def test_group_by_matches_sql(log, groups, scope):
    db, now, _ = log
    window = Window(now - 50 * DAY - 777, now - 2 * HOUR - 1, now)
    got = reports.summary(db, scope, window, groups)
    columns = group_columns(groups)
    where, values = sql_where(scope, window.start, window.end)
    expected = db.query(f"SELECT {', '.join(columns)} FROM model_calls{where} GROUP BY {', '.join(columns)}", values)
    assert len(got["groups"]) == len(expected)
    assert [g["calls"] for g in got["groups"]] == sorted((g["calls"] for g in got["groups"]), reverse=True)
    for group in got["groups"]:
        assert tuple(group)[: len(columns)] == columns
        assert_matches_sql(db, group, where + "".join(f" AND {c} IS ?" for c in columns),
                           values + [group[c] for c in columns])


@pytest.mark.parametrize(("granularity", "start", "end"), [
    ("hour", -3 * DAY - 1234, -5 * HOUR + 99),
    ("hour", -30 * HOUR, None),
    ("day", -20 * DAY - 5 * HOUR, -DAY),
    ("month", -70 * DAY, None),
])
@pytest.mark.parametrize("groups", [(), ("model",)])
def test_timeseries_matches_sql(log, granularity, start, end, groups):
    db, now, _ = log
    window = Window(now + start, None if end is None else now + end, now)
    scope = Scope("acct_0000")
    got = reports.timeseries(db, scope, window, granularity, groups)
    points = got["data"]
    assert got["granularity"] == granularity
    assert points[0]["start"] == periods.floor(granularity, window.start)
    assert points[-1]["start"] <= window.stop - 1 < points[-1]["end"]
    for point, following in zip(points, points[1:]):
        assert point["end"] == following["start"] == periods.next_start(granularity, point["start"])
    assert sum(p["calls"] for p in points) == reports.summary(db, scope, window, ())["calls"]
    for point in points:
        low, high = max(window.start, point["start"]), min(window.stop, point["end"])
        where, values = sql_where(scope, low, high)
        assert_matches_sql(db, point, where, values)
        if groups:
            assert sum(g["calls"] for g in point["groups"]) == point["calls"]


def test_rollup_cubes_and_grains_hold_every_call_once(log):
    db, now, _ = log
    rollup.catch_up(db)
    (calls, credits), = db.query("SELECT COUNT(*), SUM(credits) FROM model_calls")
    for cube in rollup.CUBES:
        for grain in periods.GRAINS:
            row = db.query_one("SELECT SUM(calls), SUM(credits) FROM usage_rollup WHERE cube = ? AND grain = ?",
                               (cube, grain))
            assert tuple(row) == (calls, credits), (cube, grain)
    hours = db.query("SELECT created_at - created_at % 3600000, COALESCE(account_id, ''), COALESCE(key_id, ''),"
                     " provider, model, type, COUNT(*) FROM model_calls GROUP BY 1, 2, 3, 4, 5, 6")
    rolled = db.query("SELECT period, account_id, key_id, provider, model, type, calls FROM usage_rollup"
                      " WHERE cube = 'full' AND grain = 'hour'")
    assert sorted(map(tuple, hours)) == sorted(map(tuple, rolled))
    assert rollup.watermark(db.conn) == db.query_one("SELECT MAX(id) FROM model_calls")[0]


def test_rollup_in_small_batches_equals_one_pass(log):
    db, now, _ = log
    rollup.catch_up(db, batch=7)
    small = [tuple(r) for r in db.query("SELECT * FROM usage_rollup ORDER BY 1, 2, 3, 4, 5, 6, 7, 8")]
    db.write(lambda conn: (conn.execute("DELETE FROM usage_rollup"), conn.execute("DELETE FROM rollup_state")))
    rollup.catch_up(db)
    whole = [tuple(r) for r in db.query("SELECT * FROM usage_rollup ORDER BY 1, 2, 3, 4, 5, 6, 7, 8")]
    assert small == whole


def test_a_fold_another_process_already_applied_is_dropped(log):
    db, now, _ = log
    upto, upserts = rollup.summarise(db.conn, 0, 100)
    db.write(lambda conn: rollup._apply(conn, 0, upto, upserts))
    before = db.query_one("SELECT SUM(calls) FROM usage_rollup")[0]
    db.write(lambda conn: rollup._apply(conn, 0, upto, upserts))  # the slower of two processes
    assert db.query_one("SELECT SUM(calls) FROM usage_rollup")[0] == before
    assert rollup.watermark(db.conn) == upto


def test_new_calls_are_counted_at_once_wherever_they_fall(log):
    db, now, pop = log
    window = Window(now - 60 * DAY, None, now)
    first = reports.summary(db, Scope(), window, ())
    rng = random.Random(11)
    # Into periods already rolled up: this hour, and a month ago (ids after every rolled-up call).
    later = [*synthetic_calls(rng, pop, 50, now - 31 * DAY, now - 30 * DAY, first_id=10_000),
             *synthetic_calls(rng, pop, 50, now - HOUR, now, first_id=20_000)]
    db.write(lambda conn: insert_calls(conn, iter(later)))
    second = reports.summary(db, Scope(), window, ())
    assert second["calls"] == first["calls"] + 100
    assert_matches_sql(db, second, *sql_where(Scope(), window.start, None))


@pytest.mark.parametrize("by", ["calls", "credits", "tokens"])
def test_top_models(log, by):
    db, now, _ = log
    window = Window(now - 30 * DAY, None, now)
    got = reports.top_models(db, Scope(), window, 3, by)
    metric = {"calls": "calls", "credits": "credits", "tokens": "total_tokens"}[by]
    column = {"calls": "COUNT(*)", "credits": "SUM(credits)",
              "tokens": "SUM(prompt_tokens + completion_tokens + cache_read_tokens + cache_write_tokens)"}[by]
    where, values = sql_where(Scope(), window.start, None)
    expected = db.query(f"SELECT provider, model, {column} AS m, COUNT(*) AS n FROM model_calls{where}"
                        " GROUP BY provider, model ORDER BY m DESC, n DESC LIMIT 3", values)
    assert [(m["provider"], m["model"]) for m in got["data"]] == [(r[0], r[1]) for r in expected]
    whole = db.query_one(f"SELECT {column} FROM model_calls{where}", values)[0]
    for model, row in zip(got["data"], expected):
        value = from_minor(row[2]) if by == "credits" else row[2]
        assert model[metric] == value
        assert model["share"] == pytest.approx(row[2] / whole, abs=1e-6)


def test_quota(log):
    db, now, _ = log
    db.write(lambda conn: conn.executemany(
        "INSERT INTO accounts (id, name, balance, reserved, created_at) VALUES (?, ?, ?, ?, ?)",
        [("acct_0001", "old", 25 * MINOR_PER_CREDIT, 10**8, now - 400 * DAY),
         ("acct_0002", "young", 3 * MINOR_PER_CREDIT, 0, now - 6 * DAY)]))
    for account, days in (("acct_0001", 30), ("acct_0002", 6)):
        got = reports.quota(db, account, now)
        used = db.query_one("SELECT SUM(credits) FROM model_calls WHERE account_id = ?", (account,))[0]
        recent = db.query_one("SELECT SUM(credits) FROM model_calls WHERE account_id = ? AND created_at >= ?",
                              (account, now - 30 * DAY))[0]
        balance = db.query_one("SELECT balance FROM accounts WHERE id = ?", (account,))[0]
        assert got["used"] == from_minor(used) and got["spent_last_30_days"] == from_minor(recent)
        assert got["remaining"] == from_minor(balance) and got["avg_window_days"] == pytest.approx(days, abs=1e-3)
        assert got["avg_daily_spend"] == from_minor(round(recent / days))
        assert got["days_left"] == pytest.approx(balance / (recent / days), abs=0.01)
        assert got["runs_out_at"] == pytest.approx(now + balance / (recent / days) * DAY, abs=1000)
    assert reports.quota(db, "acct_missing", now) is None
    everyone = reports.quota(db, None, now)
    assert everyone["remaining"] == 28 and everyone["reserved"] == 0.1
    assert everyone["used"] == from_minor(db.query_one("SELECT SUM(credits) FROM model_calls")[0])


@pytest.mark.parametrize(("scope", "start", "end", "status"), [
    (Scope(), None, None, None),
    (Scope("acct_0001"), -40 * DAY, -10 * DAY, None),
    (Scope("acct_0001", provider="openai"), None, None, "success"),
    (Scope(key_id="key_0003", type="chat"), -60 * DAY, None, None),
    (Scope(), None, None, "failed"),
])
def test_call_log_pages_match_sql(log, scope, start, end, status):
    db, now, _ = log
    query = calllog.CallQuery(scope, None if start is None else now + start, None if end is None else now + end,
                              status)
    seen, after = [], None
    while True:
        rows, after = calllog.page(db, query, 37, after)
        seen += rows
        if after is None:
            break
        assert after == (rows[-1]["created_at"], rows[-1]["id"])
        assert calllog.decode_cursor(calllog.encode_cursor(after)) == after
    clauses, values = query.where()
    expected = db.query("SELECT request_id FROM model_calls" + (" WHERE " + " AND ".join(clauses) if clauses else "")
                        + " ORDER BY created_at DESC, id DESC", values)
    assert [r["request_id"] for r in seen] == [r[0] for r in expected]
    assert len(expected) > 0


def test_csv_export_in_chunks_matches_the_log(log):
    db, now, _ = log
    query = calllog.CallQuery(Scope("acct_0001"), now - 50 * DAY)
    text, after = calllog.csv_header(), None
    while True:
        chunk, count, after = calllog.export(db, query, 100, after)
        text += chunk
        if after is None:
            break
    rows = list(csv.DictReader(io.StringIO(text.decode())))
    expected = db.query("SELECT * FROM model_calls WHERE account_id = ? AND created_at >= ?"
                        " ORDER BY created_at DESC, id DESC", ("acct_0001", now - 50 * DAY))
    assert [r["request_id"] for r in rows] == [e["request_id"] for e in expected]
    for row, call in zip(rows, expected):
        assert Decimal(row["credits"]) == Decimal(call["credits"]) / MINOR_PER_CREDIT
        assert ms(row["time"]) == call["created_at"] == int(row["created_at"])
        assert int(row["total_tokens"]) == (call["prompt_tokens"] + call["completion_tokens"]
                                            + call["cache_read_tokens"] + call["cache_write_tokens"])
        assert row["status"] == call["status"] and row["model"] == call["model"]


@pytest.mark.parametrize(("units", "text"), [
    (0, "0"), (1, "0.000000001"), (15_000, "0.000015"), (10**9, "1"), (1_500_000_000, "1.5"),
    (123_456_789_012, "123.456789012"),
])
def test_csv_credits_are_exact_decimals(local_env, units, text):
    from chalicelib.store.shared import store

    local_env({})
    store().write(lambda conn: conn.execute(INSERT_SQL, (
        "req_1", 1, "a", "k", "p", "m", "m", "chat", 0, "success", 200, None, 0, 0, 0, 0, 0, 0, units, 1.0, 1.0)))
    chunk, _, _ = calllog.export(store(), calllog.CallQuery(Scope()), 10)
    assert next(csv.reader(io.StringIO(chunk.decode())))[calllog.CSV_COLUMNS.index("credits")] == text


def test_maintenance_rolls_up_the_log(log):
    from chalicelib.handlers import maintenance

    db, now, _ = log
    asyncio.run(maintenance.run())
    assert rollup.watermark(db.conn) == db.query_one("SELECT MAX(id) FROM model_calls")[0]
