"""Change counters of the tables processes cache, and a cache that follows them.

Each counter lives in the `versions` table and is bumped in the same transaction as the
change: by the code for api_keys (store.keys), by triggers for providers, credentials and
model_rates (migration v11), so no writer (API, CLI, another process, a future module) can
forget it. A reader compares one primary-key SELECT of a few microseconds with the value its
cache was built at; so every process sees a change at its next request, not after a TTL.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from chalicelib.store.shared import store

T = TypeVar("T")

# Tables whose rows a trigger counts, and the columns whose change matters to a cache (a
# credential's usage_count and last_used_at move on every call and would only churn it).
TRIGGERED: dict[str, tuple[str, ...] | None] = {
    "providers": None,
    "model_rates": None,
    "credentials": ("provider", "secret", "weight", "active", "disabled_until", "cooldown_until"),
}


def current(name: str) -> int:
    row = store().query_one("SELECT value FROM versions WHERE name = ?", (name,))
    return row[0] if row else 0


class Versioned(Generic[T]):
    """A value built from a table, rebuilt when that table's counter moves (or on invalidate)."""

    def __init__(self, name: str, load: Callable[[], T]) -> None:
        self._name, self._load = name, load
        self._value: T | None = None
        self._version: int | None = None

    def get(self) -> T:
        # The counter first: a change committed after this read is caught by the next call,
        # never hidden under the counter value read here.
        version = current(self._name)
        if self._value is None or version != self._version:
            self._value, self._version = self._load(), version
        return self._value

    def invalidate(self) -> None:
        self._value = None
