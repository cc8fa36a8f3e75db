"""Keys on the request path (gateway/auth.py): known and unknown keys answered from memory until
the keys' counter moves, expiry checked against the clock on every request, and the memory of
unknown keys bounded. The refresh interval is an hour here, so only this process's own changes
(and the clock) can make anything move."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from chalicelib.errors import ApiError
from chalicelib.gateway import auth
from chalicelib.gateway.http import ApiRequest
from chalicelib.store import keys, versions
from chalicelib.store.db import Store
from chalicelib.store.shared import store


@pytest.fixture
def db(local_env) -> Store:
    local_env({"AIHUB_SNAPSHOT_REFRESH_S": "3600"})
    return store()


def bearer(raw: str) -> ApiRequest:
    return ApiRequest("POST", "/v1/chat/completions", {"authorization": f"Bearer {raw}"})


def refused(raw: str) -> bool:
    try:
        auth.authenticate(bearer(raw))
    except ApiError as error:
        assert error.status == 401
        return True
    return False


@pytest.fixture
def statements(db: Store) -> Iterator[Callable[[], int]]:
    """How many statements this thread's connection has run since the last call."""
    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)

    def count() -> int:
        n = len(seen)
        seen.clear()
        return n

    yield count
    db.conn.set_trace_callback(None)


def test_a_known_key_is_read_once(db, statements):
    _, raw = keys.create_key(db, name="k")
    statements()
    assert not refused(raw)
    assert statements() >= 1  # the counters and the key
    for _ in range(20):
        assert not refused(raw)
    assert statements() == 0


def test_an_unknown_key_is_read_once_until_a_key_changes(db, statements):
    raw = keys.new_raw_key()
    statements()
    assert refused(raw)
    assert statements() >= 1
    for _ in range(20):
        assert refused(raw)
    assert statements() == 0
    db.write(lambda conn: keys.insert_key(conn, raw, name="late", role="user",
                                          account_id=keys.create_account(conn, None)))
    assert not refused(raw)  # the new key moved the counter: looked up again


def test_the_memory_of_unknown_keys_is_bounded(db, statements, monkeypatch):
    monkeypatch.setattr(auth, "_keys", versions.Memo("api_keys", size=3))
    wrong = [keys.new_raw_key() for _ in range(4)]
    for raw in wrong:
        assert refused(raw)
    statements()
    assert refused(wrong[3]) and refused(wrong[1])  # remembered
    assert statements() == 0
    assert refused(wrong[0])  # the oldest was forgotten
    assert statements() == 1


def test_a_revoke_through_this_process_is_refused_at_the_next_request(db):
    record, raw = keys.create_key(db, name="k")
    assert not refused(raw)
    keys.revoke_key(db, record.id)
    assert refused(raw)


def test_expiry_is_checked_against_the_clock_on_every_request(db, statements):
    record, raw = keys.create_key(db, name="k")
    keys.update_key(db, record.id, {"expires_at": keys.now_ms() + 300})
    assert not refused(raw)
    statements()
    time.sleep(0.35)
    assert refused(raw)
    assert statements() == 0  # the cached record said when; nothing was read
