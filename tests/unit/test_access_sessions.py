"""The `aigne hub connect` sessions in SQLite (chalicelib/store/access_sessions.py): expiry hides a
session before maintenance purges it, approval binds once, delete ends it."""
from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.store import access_sessions as sessions
from chalicelib.store import migrations
from chalicelib.store.db import Store


@pytest.fixture
def db(tmp_path: Path) -> Store:
    store = Store(str(tmp_path / "s.db"))
    migrations.migrate(store)
    return store


def test_expired_sessions_are_gone_then_purged(db):
    db.write(lambda c: sessions.create(c, "old", 1_000, 500))
    db.write(lambda c: sessions.create(c, "new", 1_000, 5_000))
    assert sessions.live(db.conn, "old", 1_499) is not None
    assert sessions.live(db.conn, "old", 1_500) is None  # expired: as if unknown
    assert not db.write(lambda c: sessions.approve(c, "old", 1_500, "key_1", "cipher", "ch"))
    assert db.write(lambda c: sessions.purge_expired(c, 2_000)) == 1
    assert [row[0] for row in db.query("SELECT id FROM access_key_sessions")] == ["new"]


def test_approval_binds_once_and_delete_ends_it(db):
    db.write(lambda c: sessions.create(c, "s", 1_000, 60_000))
    pending = sessions.live(db.conn, "s", 1_001)
    assert pending is not None and not pending.approved
    assert db.write(lambda c: sessions.approve(c, "s", 1_002, "key_1", "cipher", "ch"))
    assert not db.write(lambda c: sessions.approve(c, "s", 1_003, "key_2", "other", "ch2"))
    found = sessions.live(db.conn, "s", 1_004)
    assert found is not None and (found.key_id, found.secret_cipher, found.challenge) == ("key_1", "cipher", "ch")
    assert db.write(lambda c: sessions.delete(c, "s", 1_005))
    assert not db.write(lambda c: sessions.delete(c, "s", 1_006))
    assert sessions.live(db.conn, "s", 1_007) is None
