"""Query parameters of the usage routes, parsed and checked; a bad value is a 400 naming it."""
from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.analytics import calllog, periods
from chalicelib.analytics.scope import CALL_TYPES, GROUPS, STATUSES, Scope
from chalicelib.api.limits import MAX_EPOCH_MS
from chalicelib.errors import ApiError, bad_request

Query = dict[str, str]

DEFAULT_DAYS = 30
MAX_BUCKETS = 1000  # a time series longer than this is a mistake (90 days by hour), not a chart


def _get(query: Query, name: str) -> str | None:
    raw = query.get(name)
    return raw.strip() or None if raw is not None else None


def _error(name: str, must: str) -> ApiError:
    return bad_request(f"Query parameter '{name}' must be {must}.", param=name)


def _iso_ms(raw: str) -> int:
    moment = datetime.fromisoformat(raw)
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


def timestamp(query: Query, name: str) -> int | None:
    """Epoch milliseconds, or an ISO 8601 date or date-time (UTC unless it names an offset)."""
    raw = _get(query, name)
    if raw is None:
        return None
    try:
        ms = int(raw) if raw.isascii() and raw.isdigit() else _iso_ms(raw)
    except ValueError:  # int() refuses numbers of more than 4300 digits too
        raise _error(name, "epoch milliseconds or an ISO 8601 date or time"
                           " (2025-01-31, 2025-01-31T12:00:00Z)") from None
    if not 0 <= ms <= MAX_EPOCH_MS:
        raise _error(name, "between 1970-01-01 and 9999-01-01")
    return ms


def window(query: Query, now: int) -> periods.Window:
    """`from` and `to` of an aggregate: [from, to), by default the last 30 days up to now."""
    start, end = timestamp(query, "from"), timestamp(query, "to")
    if start is None:
        start = max(0, (now if end is None else end) - DEFAULT_DAYS * periods.DAY)
    if end is not None and start >= end:
        raise bad_request("Query parameter 'from' must be before 'to'.", param="from")
    return periods.Window(start, end, now)


def time_range(query: Query) -> tuple[int | None, int | None]:
    """`from` and `to` of the call log: both optional."""
    start, end = timestamp(query, "from"), timestamp(query, "to")
    if start is not None and end is not None and start >= end:
        raise bad_request("Query parameter 'from' must be before 'to'.", param="from")
    return start, end


def choice(query: Query, name: str, allowed: tuple[str, ...], default: str | None = None) -> str | None:
    raw = _get(query, name)
    if raw is None:
        return default
    if raw not in allowed:
        raise _error(name, "one of " + ", ".join(allowed))
    return raw


def granularity(query: Query, window: periods.Window) -> str:
    grain = choice(query, "granularity", periods.GRAINS, "day")
    assert grain is not None
    if periods.count(grain, window.start, window.stop) > MAX_BUCKETS:
        raise bad_request(f"The range from 'from' to 'to' holds more than {MAX_BUCKETS} periods of a {grain};"
                          " use a coarser 'granularity' or a shorter range.", param="granularity")
    return grain


def group_by(query: Query) -> tuple[str, ...]:
    """Comma-separated names of GROUPS, e.g. `model` or `key,model`."""
    raw = _get(query, "group_by")
    if raw is None:
        return ()
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",")))
    if not all(n in GROUPS for n in names):
        raise _error("group_by", "a comma-separated list of " + ", ".join(GROUPS))
    return names


def scope(query: Query, account_id: str | None) -> Scope:
    return Scope(
        account_id=account_id,
        key_id=_get(query, "key_id"),
        provider=_get(query, "provider"),
        model=_get(query, "model"),
        type=choice(query, "type", CALL_TYPES),
        app_id=_get(query, "app_id"),
    )


def status(query: Query) -> str | None:
    return choice(query, "status", STATUSES)


def integer(query: Query, name: str, default: int, low: int, high: int) -> int:
    raw = _get(query, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _error(name, "an integer") from None
    if not low <= value <= high:
        raise _error(name, f"between {low} and {high}")
    return value


def cursor(query: Query) -> calllog.Cursor | None:
    raw = _get(query, "cursor")
    if raw is None:
        return None
    try:
        return calllog.decode_cursor(raw)
    except ValueError:
        raise _error("cursor", "the next_cursor of a previous page") from None
