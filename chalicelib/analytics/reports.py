"""The usage reports as JSON-ready dicts: summary, time series, top models, quota."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from chalicelib.analytics import periods
from chalicelib.analytics.aggregate import Key, aggregate
from chalicelib.analytics.scope import Scope, group_columns
from chalicelib.analytics.totals import Totals
from chalicelib.billing.units import from_minor
from chalicelib.store import ledger
from chalicelib.store.db import Store

QUOTA_DAYS = 30
RANKINGS: dict[str, Callable[[Totals], int]] = {
    "calls": lambda t: t.calls,
    "credits": lambda t: t.credits,
    "tokens": lambda t: t.total_tokens,
}


def summary(store: Store, scope: Scope, window: periods.Window, groups: tuple[str, ...]) -> dict[str, Any]:
    columns = group_columns(groups)
    found = aggregate(store, scope, window.start, window.end, columns=columns)
    out = {"object": "usage.summary", **_frame(scope, window, groups), **_sum(found.values()).view()}
    if groups:
        out["groups"] = _group_list(columns, {key[1:]: totals for key, totals in found.items()})
    return out


def timeseries(store: Store, scope: Scope, window: periods.Window, granularity: str,
               groups: tuple[str, ...]) -> dict[str, Any]:
    columns = group_columns(groups)
    found = aggregate(store, scope, window.start, window.end, columns=columns, granularity=granularity)
    by_bucket: dict[int, dict[Key, Totals]] = {}
    for (bucket, *values), totals in found.items():
        by_bucket.setdefault(bucket, {})[tuple(values)] = totals
    data = []
    for start in periods.starts(granularity, window.start, window.stop):
        here = by_bucket.get(start, {})
        point = {"start": start, "end": periods.next_start(granularity, start), **_sum(here.values()).view()}
        if groups:
            point["groups"] = _group_list(columns, here)
        data.append(point)
    return {"object": "usage.timeseries", **_frame(scope, window, groups), "granularity": granularity, "data": data}


def top_models(store: Store, scope: Scope, window: periods.Window, limit: int, by: str) -> dict[str, Any]:
    found = aggregate(store, scope, window.start, window.end, columns=("provider", "model"))
    metric = RANKINGS[by]
    whole = sum(metric(t) for t in found.values())
    ranked = sorted(found.items(), key=lambda item: (-metric(item[1]), -item[1].calls, item[0]))[:limit]
    data = [{"provider": provider or None, "model": model or None, **totals.view(),
             "share": round(metric(totals) / whole, 6) if whole else 0.0}
            for (_, provider, model), totals in ranked]
    return {"object": "list", **_frame(scope, window, ()), "by": by, "data": data}


def quota(store: Store, account_id: str | None, now: int) -> dict[str, Any] | None:
    """Balance and spend of an account (None: of all accounts); None when it does not exist."""
    where, values = (" WHERE id = ?", (account_id,)) if account_id else ("", ())
    held = store.conn.execute(f"SELECT COUNT(*), MIN(created_at), {ledger.exact_sum('balance')},"
                              f" {ledger.exact_sum('reserved')} FROM accounts{where}", values).fetchone()
    count, born = held[:2]
    balance, reserved = ledger.combine(*held[2:4]), ledger.combine(*held[4:6])
    if account_id and not count:
        return None
    scope = Scope(account_id)
    used = _sum(aggregate(store, scope, 0, None).values()).credits
    recent = _sum(aggregate(store, scope, now - QUOTA_DAYS * periods.DAY, None).values()).credits
    # A younger account averages over its life so far, not over days it did not exist.
    days = min(QUOTA_DAYS, max(1.0, (now - (born or now)) / periods.DAY))
    daily = recent / days
    days_left = None if daily <= 0 else max(0.0, balance / daily)
    return {
        "object": "usage.quota",
        "account_id": account_id,
        "used": from_minor(used),
        "remaining": from_minor(balance),
        "reserved": from_minor(reserved),
        "spent_last_30_days": from_minor(recent),
        "avg_daily_spend": from_minor(round(daily)),
        "avg_window_days": round(days, 3),
        "days_left": None if days_left is None else round(days_left, 2),
        "runs_out_at": None if days_left is None else now + int(days_left * periods.DAY),
        "as_of": now,
    }


def _frame(scope: Scope, window: periods.Window, groups: tuple[str, ...]) -> dict[str, Any]:
    filters = {name: value for name in ("key_id", "provider", "model", "type", "app_id")
               if (value := getattr(scope, name)) is not None}
    return {"account_id": scope.account_id, "from": window.start, "to": window.stop, "filters": filters,
            "group_by": list(groups) or None}


def _sum(parts: Iterable[Totals]) -> Totals:
    total = Totals()
    for part in parts:
        total.add(part)
    return total


def _group_list(columns: tuple[str, ...], groups: dict[Key, Totals]) -> list[dict[str, Any]]:
    """One entry per group, busiest first; '' (no value) reads as null."""
    ranked = sorted(groups.items(), key=lambda item: (-item[1].calls, -item[1].credits, item[0]))
    return [{**{c: v or None for c, v in zip(columns, values)}, **totals.view()} for values, totals in ranked]
