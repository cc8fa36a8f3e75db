"""Change counters of the tables processes cache, and the snapshot refresh that follows them.

Each counter lives in the `versions` table and is bumped in the same transaction as the
change: by the code for api_keys (store.keys), by triggers for providers, credentials and
model_rates (migration v12), so no writer (API, CLI, another process, a future module) can
forget it. A reader compares the counter with the value its snapshot was built at.

One refresh serves the whole process: the counters are read together, in one SELECT, at most
once per AIHUB_SNAPSHOT_REFRESH_S (1 s by default; on EFS each read is a lock round trip), so a
request whose snapshots are warm reads nothing from SQLite, and another process's change is
seen within that interval. A change committed through this process's own Store moves its
`generation` (store.db), which makes the next read immediate: the process that revoked a key
refuses it at the very next request.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from chalicelib.config import settings
from chalicelib.store.db import Store
from chalicelib.store.shared import store

T = TypeVar("T")
K = TypeVar("K")

# Tables whose rows a trigger counts, and the columns whose change matters to a cache (a
# credential's usage_count and last_used_at move on every call and would only churn it).
TRIGGERED: dict[str, tuple[str, ...] | None] = {
    "providers": None,
    "model_rates": None,
    "credentials": ("provider", "secret", "weight", "active", "disabled_until", "cooldown_until"),
}


@dataclass(frozen=True, slots=True)
class _Read:
    db: Store
    generation: int  # the Store's when the counters were read
    due: float  # monotonic time of the next read
    counters: dict[str, int]


_read: _Read | None = None


def _counters(db: Store) -> _Read:
    """Every counter, as read last, or read now when that is due or this process changed one.
    The same object until the next read, so a cache that kept it knows nothing moved."""
    global _read
    read = _read
    if read is None or read.db is not db or read.generation != db.generation or time.monotonic() >= read.due:
        # The generation before the SELECT: a commit of this process after it moves it again.
        generation = db.generation
        counters = {n: v for n, v in db.query("SELECT name, value FROM versions")}
        read = _read = _Read(db, generation, time.monotonic() + settings().snapshot_refresh_s, counters)
    return read


def current(name: str, db: Store | None = None) -> int:
    return _counters(db or store()).counters.get(name, 0)


class Versioned(Generic[T]):
    """A value built from a table, rebuilt when that table's counter moves."""

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


class Memo(Generic[K, T]):
    """Values worked out one key at a time from some tables (a key's record, a model's plan),
    all forgotten when one of those tables' counters moves. Keys come from clients, so at most
    `size` values are kept, the least recently used dropped first."""

    def __init__(self, *names: str, size: int) -> None:
        self._names, self._size = names, size
        self._entries: OrderedDict[K, T] = OrderedDict()
        self._read: _Read | None = None  # the counters last compared with
        self._stamp: tuple[object, ...] | None = None

    def get(self, key: K, work: Callable[[], T]) -> T:
        """The value of `key`, from `work()` when it is not known at the current counters; what
        `work` raises is not remembered."""
        # The counters first, as in Versioned; and the value goes into the entries of the
        # counters read before `work` ran, so a change committed meanwhile clears it next time.
        db = store()
        read = _counters(db)
        if read is not self._read:  # read again since: did ours move?
            stamp = (db, *[read.counters.get(name, 0) for name in self._names])
            if stamp != self._stamp:
                self._entries, self._stamp = OrderedDict(), stamp
            self._read = read
        entries = self._entries
        try:  # one lookup when known; KeyError also when another thread dropped it meanwhile
            entries.move_to_end(key)
            return entries[key]
        except KeyError:
            pass
        value = entries[key] = work()
        if len(entries) > self._size:
            entries.popitem(last=False)
        return value
