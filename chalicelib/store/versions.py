"""Change counters of the tables processes cache, and a cache that follows them.

Each counter lives in the `versions` table and is bumped in the same transaction as the
change: by the code for api_keys (store.keys), by triggers for providers, credentials and
model_rates (migration v12), so no writer (API, CLI, another process, a future module) can
forget it. A reader compares the counter with the value its cache was built at. The counters
are read together, in one SELECT, at most once per READ_EVERY_S: one read per request however
many caches it consults (on EFS each read is a lock round trip), and a change is seen by every
process within that time, not after a TTL of seconds.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from chalicelib.store.db import Store
from chalicelib.store.shared import store

T = TypeVar("T")

# Tables whose rows a trigger counts, and the columns whose change matters to a cache (a
# credential's usage_count and last_used_at move on every call and would only churn it).
TRIGGERED: dict[str, tuple[str, ...] | None] = {
    "providers": None,
    "model_rates": None,
    "credentials": ("provider", "secret", "weight", "active", "disabled_until", "cooldown_until"),
}


READ_EVERY_S = 0.05
_read: tuple[Store, float, dict[str, int]] | None = None


def current(name: str, db: Store | None = None) -> int:
    global _read
    db = db or store()
    now = time.monotonic()
    if _read is None or _read[0] is not db or now - _read[1] >= READ_EVERY_S:
        _read = (db, now, {n: v for n, v in db.query("SELECT name, value FROM versions")})
    return _read[2].get(name, 0)


class Versioned(Generic[T]):
    """A value built from a table, rebuilt when that table's counter moves (or on invalidate)."""

    def __init__(self, name: str, load: Callable[[], T]) -> None:
        self._name, self._load = name, load
        self._value: T | None = None
        self._stamp: tuple[Store, int] | None = None

    def get(self) -> T:
        # The counter first: a change committed after this read is caught by the next call,
        # never hidden under the counter value read here. The store too: another database
        # (tests, a reset) has counters of its own.
        db = store()
        stamp = (db, current(self._name, db))
        if self._value is None or stamp != self._stamp:  # a Store compares by identity
            self._value, self._stamp = self._load(), stamp
        return self._value

    def invalidate(self) -> None:
        self._value = None
