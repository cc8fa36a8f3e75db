"""Change counters: a change of providers, credentials or rates, by any writer, moves its
counter in the same transaction; a credential's per-call bookkeeping does not (it would only
churn every process's cache); a cache rebuilds at the next read after a move; the counters are
read once per refresh interval, except right after this process's own committed change."""
from __future__ import annotations

import time

import pytest

from chalicelib.store import providers as rows
from chalicelib.store import versions
from chalicelib.store.db import Store
from chalicelib.store.shared import store, writer

SECRET = "unit-master-secret-0123456789-0123456789"


@pytest.fixture
def db(local_env):
    local_env({"AIHUB_SECRET": SECRET, "AIHUB_SNAPSHOT_REFRESH_S": "0"})  # each read sees the last write
    return store()


def moved(name: str, change) -> bool:
    before = versions.current(name)
    change()
    return versions.current(name) != before


def credential(db, provider: str = "openai") -> str:
    rows.insert_credential(db, {"id": "cred_1", "provider": provider, "name": "k", "type": "api_key",
                                "secret": "sealed", "masked": "sk-...abcd", "weight": 1, "active": 1,
                                "fail_count": 0, "usage_count": 0, "created_at": 1, "updated_at": 1})
    return "cred_1"


def test_provider_rows_move_their_counter(db):
    assert moved("providers", lambda: rows.upsert_provider(db, "mine", {"kind": "openai", "enabled": 1}))
    assert moved("providers", lambda: rows.upsert_provider(db, "mine", {"enabled": 0}))
    assert moved("providers", lambda: rows.delete_provider(db, "mine"))


@pytest.mark.parametrize(("fields", "counts"), [
    ({"active": 0}, True),
    ({"weight": 3}, True),
    ({"cooldown_until": 10**13}, True),
    ({"disabled_until": 10**13}, True),
    ({"error": "HTTP 401", "fail_count": 1}, False),
    ({"last_checked_at": 5}, False),
])
def test_credential_changes_that_matter_move_the_counter(db, fields, counts):
    cred = credential(db)
    assert moved("credentials", lambda: rows.update_credential(db, cred, fields)) is counts


def test_a_call_does_not_move_the_credential_counter(db):
    cred = credential(db)
    assert not moved("credentials", lambda: db.write(lambda conn: rows.mark_used(conn, cred, int(time.time() * 1000))))
    assert moved("credentials", lambda: rows.delete_credential(db, cred))


def test_rates_move_their_counter(db):
    from chalicelib.billing import rates

    assert rates.rate_for("mine", "m1") is None
    db.write(lambda conn: conn.execute(
        "INSERT INTO model_rates (provider, model, type, input_rate, output_rate, created_at, updated_at)"
        " VALUES ('mine', 'm1', 'chat', 5, 7, 1, 1)"))
    assert rates.rate_for("mine", "m1").input_rate == 5  # a raw SQL writer, seen at the next read


def other_process(db) -> Store:
    """A second Store on the same file: its commits are another process's to `db`'s snapshots."""
    return Store(db.path, journal_mode=db.journal_mode)


def test_counters_are_read_at_most_once_per_interval(local_env):
    local_env({"AIHUB_SECRET": SECRET, "AIHUB_SNAPSHOT_REFRESH_S": "3600"})
    before = versions.current("providers")
    rows.upsert_provider(other_process(store()), "mine", {"kind": "openai", "enabled": 1})
    assert versions.current("providers") == before  # within the interval: the counters read before


def test_other_processes_changes_are_seen_once_the_interval_has_passed(local_env):
    local_env({"AIHUB_SECRET": SECRET, "AIHUB_SNAPSHOT_REFRESH_S": "0.2"})
    before = versions.current("providers")
    rows.upsert_provider(other_process(store()), "mine", {"kind": "openai", "enabled": 1})
    deadline = time.monotonic() + 5
    while versions.current("providers") == before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert versions.current("providers") == before + 1


@pytest.mark.parametrize("through", ["a write", "the writer thread"])
def test_this_processs_own_change_is_seen_at_once(local_env, through):
    local_env({"AIHUB_SECRET": SECRET, "AIHUB_SNAPSHOT_REFRESH_S": "3600"})
    before = versions.current("credentials")
    if through == "a write":
        credential(store())
    else:
        bump = "UPDATE versions SET value = value + 1 WHERE name = 'credentials'"
        writer().submit(lambda conn: conn.execute(bump)).result(timeout=10)
    assert versions.current("credentials") == before + 1


def test_a_rolled_back_change_moves_nothing(local_env):
    local_env({"AIHUB_SECRET": SECRET, "AIHUB_SNAPSHOT_REFRESH_S": "3600"})
    db = store()
    versions.current("providers")
    generation = db.generation

    def fail(conn) -> None:
        conn.execute(
            "INSERT INTO providers (name, kind, enabled, created_at, updated_at) VALUES ('x', 'openai', 1, 1, 1)")
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        db.write(fail)
    assert db.generation == generation


def test_a_cache_rebuilds_only_when_its_counter_moves(db):
    loads: list[int] = []
    cache = versions.Versioned("providers", lambda: loads.append(1) or len(loads))
    assert cache.get() == 1 and cache.get() == 1
    rows.upsert_provider(db, "mine", {"kind": "openai", "enabled": 1})
    assert cache.get() == 2 and cache.get() == 2
