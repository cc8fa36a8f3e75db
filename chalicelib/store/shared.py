"""The process-wide Store, opened and migrated on first use (not at import: cold start)."""
from __future__ import annotations

import threading

from chalicelib.config import settings
from chalicelib.store.db import Store
from chalicelib.store.writer import Writer

_store: Store | None = None
_lock = threading.RLock()


def store() -> Store:
    global _store
    if _store is None:
        with _lock:
            if _store is None:
                from chalicelib.store.migrations import migrate

                cfg = settings()
                trace = None
                if cfg.sql_trace:
                    from chalicelib.store.trace import StatementLog

                    trace = StatementLog(cfg.sql_trace)
                candidate = Store(cfg.db_path, journal_mode=cfg.journal_mode, busy_timeout_ms=cfg.busy_timeout_ms,
                                  write_budget_ms=cfg.write_budget_ms, trace=trace)
                migrate(candidate)
                _store = candidate
    return _store


_writer: Writer | None = None


def writer() -> Writer:
    """This process's writer thread over the shared Store, owning its calls in flight: it
    renews the process's lease and sweeps the calls of dead processes as it goes."""
    global _writer
    if _writer is None:
        with _lock:
            if _writer is None:
                from chalicelib.observability.hub import commit_observer
                from chalicelib.store import inflight

                candidate = Writer(store())
                candidate.on_commit = commit_observer()
                if settings().settlements == "local":
                    # Queued, calls are in flight until a deadline and the writer function
                    # sweeps them: no lease to renew, no EFS write every few seconds here.
                    candidate.every(inflight.RENEW_S, inflight.renew)
                    candidate.every(inflight.RENEW_S, lambda conn: inflight.sweep(conn))
                _writer = candidate
    return _writer


def reset() -> None:
    """Forget the store and stop the writer (tests, which switch databases within a process)."""
    global _store, _writer
    with _lock:
        if _writer is not None:
            _writer.close()
        _store = _writer = None
