"""Migration 9: the roll-up gains the AIGNE client's app as a dimension. A database whose calls
were folded under the old key is refolded from model_calls, each call once, by app."""
from __future__ import annotations

import time

import pytest

from chalicelib.analytics import rollup
from chalicelib.store import calls, migrations
from chalicelib.store.calls import CallRecord
from chalicelib.store.db import Store

APPS = ["app-a", "app-a", "app-b", None]


def test_old_rollup_is_rebuilt_by_app(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = Store(str(tmp_path / "old.db"))
    every = migrations.MIGRATIONS
    before = every.index(migrations._v10_usage_by_app)
    monkeypatch.setattr(migrations, "MIGRATIONS", every[:before])  # the schema before this change
    assert migrations.migrate(db) == before
    now = int(time.time() * 1000)

    def log(conn):
        for i, app in enumerate(APPS):
            calls.insert(conn, CallRecord(request_id=f"req_{i}", created_at=now, type="chat", account_id="acct",
                                          key_id="key", requested_model="demo/echo", provider="demo", model="echo",
                                          credits=10, app_id=app))
        # the old roll-up had folded them all already, without their app
        conn.execute("INSERT INTO rollup_state (name, last_id, updated_at) VALUES ('usage_rollup', ?, 1)",
                     (conn.execute("SELECT MAX(id) FROM model_calls").fetchone()[0],))

    db.write(log)
    monkeypatch.setattr(migrations, "MIGRATIONS", every)
    assert migrations.migrate(db) == len(every)
    rollup.catch_up(db)
    folded = dict(db.conn.execute("SELECT app_id, SUM(calls) FROM usage_rollup WHERE grain = 'hour'"
                                  " AND cube = 'full' GROUP BY app_id").fetchall())
    assert folded == {"app-a": 2, "app-b": 1, "": 1}
    totals = db.conn.execute("SELECT calls, credits FROM usage_rollup WHERE grain = 'month' AND cube = 'total'")
    assert [tuple(row) for row in totals.fetchall()] == [(4, 40)]
