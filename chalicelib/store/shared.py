"""The process-wide Store, opened and migrated on first use (not at import: cold start)."""
from __future__ import annotations

import threading

from chalicelib.config import settings
from chalicelib.store.db import Store

_store: Store | None = None
_lock = threading.Lock()


def store() -> Store:
    global _store
    if _store is None:
        with _lock:
            if _store is None:
                from chalicelib.store.migrations import migrate

                cfg = settings()
                candidate = Store(cfg.db_path, journal_mode=cfg.journal_mode, busy_timeout_ms=cfg.busy_timeout_ms)
                migrate(candidate)
                _store = candidate
    return _store
