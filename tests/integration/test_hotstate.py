"""The hot state's interface, its SQLite implementation and its DynamoDB one (against a
DynamoDB-compatible endpoint on loopback, moto's server), alike where both must be: holds that
never overspend, settlements taken once, rate limits and spend caps that admit exactly their
limit under concurrency. DynamoDB only: 50 holds from 4 processes, the seed from the ledger,
the sweep of expired holds, credit mirroring and the reconciliation with the SQLite ledger."""
from __future__ import annotations

import asyncio
import json
import multiprocessing
import secrets
import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chalicelib import cli, hotstate
from chalicelib.billing import accounting
from chalicelib.errors import ApiError
from chalicelib.handlers import maintenance
from chalicelib.hotstate import reconcile
from chalicelib.hotstate.base import Ask, HotState
from chalicelib.hotstate.dynamodb import DynamoHotState, hot_state
from chalicelib.hotstate.sqlite import SqliteHotState
from chalicelib.store import keys, ledger
from chalicelib.store.keys import KeyRecord
from chalicelib.store.shared import store
from tests.support.aws import moto_server
from tests.support.dynamo import create_table, dynamodb, gateway_env

HOLD = 75


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


class InTransaction:
    """The SQLite hot state as its callers use it: each operation inside a write transaction."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        return lambda *args: store().write(lambda conn: getattr(SqliteHotState(conn), name)(*args))


@pytest.fixture
def dynamo(endpoint, local_env) -> DynamoHotState:
    local_env({})
    return DynamoHotState(dynamodb(endpoint), create_table(endpoint))


@pytest.fixture(params=["sqlite", "dynamodb"])
def state(request, local_env) -> Any:
    """Either implementation, for what both must do alike."""
    if request.param == "dynamodb":
        return request.getfixturevalue("dynamo")
    local_env({})
    return InTransaction()


def account(credits_minor: int, **limits: int) -> KeyRecord:
    record, _ = keys.create_key(store(), name="hot", credits_minor=credits_minor, **limits)
    return record


def ask(who: KeyRecord, amount: int = HOLD, *, limited: bool = False, now: float | None = None) -> Ask:
    return Ask("req_" + secrets.token_hex(6), who.account_id, who.id, who if limited else None, amount,
               time.time() if now is None else now)


def outcome(state: HotState, a: Ask) -> int:
    try:
        state.admit(a)
        return 200
    except ApiError as error:
        return error.status


def test_an_account_is_seeded_from_the_ledger_on_first_use(dynamo):
    who = account(10 * HOLD)
    assert dynamo.balance(who.account_id) is None  # nothing until first use
    assert outcome(dynamo, ask(who)) == 200
    assert dynamo.balance(who.account_id) == (9 * HOLD, HOLD)


def test_an_account_holds_exactly_what_it_has(state):
    who = account(10 * HOLD)
    statuses = [outcome(state, ask(who)) for _ in range(11)]
    assert statuses == [200] * 10 + [402]
    assert state.balance(who.account_id) == (0, 10 * HOLD)


def test_an_account_in_debt_holds_nothing_not_even_free(state):
    who = account(HOLD)
    hold = state.admit(ask(who))
    assert state.settle(hold, 3 * HOLD, 0) == 3 * HOLD  # an overrun is taken in full
    assert state.balance(who.account_id) == (-2 * HOLD, 0)
    with pytest.raises(ApiError) as info:
        state.admit(ask(who, 1))
    assert info.value.code == "insufficient_credits"


def test_settle_twice_charges_once_and_release_after_settle_changes_nothing(state):
    who = account(1_000)
    hold = state.admit(ask(who, 400))
    assert state.balance(who.account_id) == (600, 400)
    assert state.settle(hold, 250, 0) == 250
    assert state.settle(hold, 250, 0) == 0
    state.release(hold)
    assert state.balance(who.account_id) == (750, 0)
    released = state.admit(ask(who, 400))
    state.release(released)
    assert state.settle(released, 100, 0) == 0
    assert state.balance(who.account_id) == (750, 0)


def _admit_many(endpoint: str, table: str, account_id: str, count: int) -> list[int]:
    """One process: its own client, `count` threads admitting at once."""
    state = DynamoHotState(dynamodb(endpoint), table, seed=lambda _: None)
    barrier_asks = [Ask("req_" + secrets.token_hex(8), account_id, None, None, HOLD, time.time()) for _ in range(count)]
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda a: outcome(state, a), barrier_asks))


def test_fifty_concurrent_holds_from_four_processes_never_overspend(dynamo, endpoint):
    balance = 1_000  # 13 holds of 75 fit, with 25 left
    who = account(balance)
    assert dynamo.seed_account(who.account_id)
    shares = [13, 13, 12, 12]
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.starmap(_admit_many, [(endpoint, dynamo.table, who.account_id, n) for n in shares])
    statuses = [s for r in results for s in r]
    assert len(statuses) == 50 and sorted(set(statuses)) == [200, 402]
    assert statuses.count(200) == balance // HOLD
    left, reserved = dynamo.balance(who.account_id)
    assert (left, reserved) == (balance % HOLD, HOLD * (balance // HOLD))
    assert left + reserved == balance and left >= 0


def test_requests_per_minute_under_concurrency_admit_exactly_the_limit(state):
    who = account(10**6, rpm=7)
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda _: outcome(state, ask(who, 0, limited=True)), range(20)))
    assert statuses.count(200) == 7 and statuses.count(429) == 13


def test_tokens_per_minute_count_at_settlement(state):
    who = account(10**6, tpm=100)
    hold = state.admit(ask(who, limited=True))
    assert hold.headers["x-ratelimit-remaining-tokens"] == "100"
    state.settle(hold, 10, 150)
    with pytest.raises(ApiError) as info:
        state.admit(ask(who, limited=True))
    assert (info.value.code, info.value.headers["x-ratelimit-remaining-tokens"]) == ("rate_limit_tokens", "0")


def test_a_spend_cap_under_concurrency_admits_exactly_what_fits(state):
    who = account(10**6, daily_cap=4 * HOLD + 10)
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda _: outcome(state, ask(who, limited=True)), range(20)))
    assert statuses.count(200) == 4 and statuses.count(429) == 16
    assert state.balance(who.account_id) == (10**6 - 4 * HOLD, 4 * HOLD)


def test_a_refused_request_is_not_counted_against_the_rate_limit(state):
    who = account(HOLD, rpm=2)
    assert outcome(state, ask(who, 10 * HOLD, limited=True)) == 402
    assert [outcome(state, ask(who, 1, limited=True)) for _ in range(3)] == [200, 200, 429]


def test_expired_holds_are_swept_and_their_credit_comes_back(dynamo):
    who = account(1_000)
    old = dynamo.admit(ask(who, 300, now=time.time() - 3 * 3600))
    fresh = dynamo.admit(ask(who, 200))
    report = reconcile.reconcile(dynamo, store(), recheck_s=0)
    assert (report.swept, report.settled) == ([old.request_id], [])
    assert dynamo.balance(who.account_id) == (800, 200)
    assert dynamo.settle(old, 300, 0) == 0  # its late settlement changes nothing here
    assert dynamo.settle(fresh, 150, 0) == 150


def test_an_expired_hold_the_ledger_charged_is_settled_at_that_charge(dynamo):
    """The gateway's DynamoDB settlement failed but the ledger booked the call's charge (what the
    writer does with `charged_externally`): the sweep takes that charge, so the two agree."""
    who = account(1_000)
    past = time.time() - 3 * 3600
    charged, overrun, lost = (dynamo.admit(ask(who, held, now=past)) for held in (300, 100, 200))
    for hold, cost in ((charged, 120), (overrun, 250)):
        store().write(lambda c, h=hold, n=cost: accounting.book(c, who.account_id, who.id, h.request_id, n))
    report = reconcile.reconcile(dynamo, store(), recheck_s=0)
    assert (sorted(report.settled), report.swept) == (sorted([charged.request_id, overrun.request_id]),
                                                       [lost.request_id])
    assert dynamo.balance(who.account_id) == (1_000 - 120 - 250, 0)
    assert report.drift == [] and reconcile.drifted(dynamo, store()) == []
    assert dynamo.settle(charged, 120, 0) == 0  # a late settlement of it changes nothing


def test_credits_are_mirrored_once_by_ledger_row(dynamo):
    who = account(1_000)
    assert dynamo.seed_account(who.account_id)
    row = store().write(lambda c: ledger.grant(c, who.account_id, 500, kind="topup"))
    assert dynamo.credit(who.account_id, 500, row) is True
    assert dynamo.credit(who.account_id, 500, row) is False
    assert dynamo.balance(who.account_id) == (1_500, 0)
    # a row the seed already included is not added again
    other = account(1_000)
    row = store().write(lambda c: ledger.grant(c, other.account_id, 500, kind="topup"))
    assert dynamo.credit(other.account_id, 500, row) is False  # seeds from the ledger, which has it
    assert dynamo.credit(other.account_id, 500, row) is False
    assert dynamo.balance(other.account_id) == (1_500, 0)


def test_reconcile_finds_no_drift_after_a_clean_run_and_reports_an_injected_one(dynamo):
    accounts = [account(10_000) for _ in range(3)]
    for who in accounts:
        for cost in (120, 0, 75):
            hold = dynamo.admit(ask(who, 200))
            charged = dynamo.settle(hold, cost or None, 0)
            if charged:  # what the call log books
                store().write(lambda c, h=hold, n=charged, w=who: ledger.add(
                    c, w.account_id, -n, kind="charge", request_id=h.request_id))
    assert reconcile.reconcile(dynamo, store(), recheck_s=0).drift == []
    victim = accounts[1].account_id
    dynamo.client.update_item(TableName=dynamo.table, Key={"pk": {"S": f"acct#{victim}"}},
                             UpdateExpression="ADD balance :n", ExpressionAttributeValues={":n": {"N": "7"}})
    (drift,) = reconcile.reconcile(dynamo, store(), recheck_s=0).drift
    assert (drift.account_id, drift.difference, drift.ledger) == (victim, 7, 10_000 - 195)


def test_an_unreachable_table_is_a_503_never_an_unheld_call(local_env):
    local_env({})
    who = account(1_000)
    from tests.support.gateway import free_port

    state = DynamoHotState(dynamodb(f"http://127.0.0.1:{free_port()}"), "gone")
    with pytest.raises(ApiError) as info:
        state.admit(ask(who))
    assert (info.value.status, info.value.code, info.value.headers["retry-after"]) == (503, "hot_state_unavailable", "1")


def test_admit_and_settle_latency_against_moto(dynamo, capsys):
    """Prints the p50 of admit + settle on loopback moto: a figure of this code and moto, not
    of DynamoDB (whose conditional writes take a few ms in a region)."""
    for limits, label in (({}, "billed key without limits: 2 transactions"),
                          ({"rpm": 10**6}, "billed key with an rpm limit: 1 update + 2 transactions")):
        who = account(10**9, **limits)
        times = []
        for _ in range(100):
            started = time.perf_counter()
            dynamo.settle(dynamo.admit(ask(who, 100, limited=bool(limits))), 60, 10)
            times.append((time.perf_counter() - started) * 1000)
        with capsys.disabled():
            print(f"\nhot state on moto (loopback, not DynamoDB's latency), {label}: admit+settle"
                  f" p50 {statistics.median(times):.2f} ms, p90 {statistics.quantiles(times, n=10)[-1]:.2f} ms")
        assert dynamo.balance(who.account_id) == (10**9 - 100 * 60, 0)


def _report(out: str) -> dict:
    """The CLI's JSON report (indented, so over several lines) without the one-line log records
    that may share stdout when an earlier test of the session set up logging."""

    def log_record(line: str) -> bool:
        try:
            return isinstance(json.loads(line), dict) and line.startswith('{"')
        except ValueError:
            return False

    return json.loads("\n".join(line for line in out.splitlines() if not log_record(line)))


def test_reconcile_cli_and_function_exit_on_drift(endpoint, local_env, capsys):
    table = create_table(endpoint)
    local_env(gateway_env(endpoint, table))
    who = account(1_000)
    state = hot_state()
    state.admit(ask(who, 100, now=time.time() - 3 * 3600))  # a call that never settled
    assert cli.main(["reconcile", "--recheck", "0"]) == 0
    assert "released 1 expired holds" in capsys.readouterr().out
    state.client.update_item(TableName=table, Key={"pk": {"S": f"acct#{who.account_id}"}},
                             UpdateExpression="ADD reserved :n", ExpressionAttributeValues={":n": {"N": "5"}})
    capsys.readouterr()
    assert cli.main(["reconcile", "--recheck", "0", "--json"]) == 1
    report = _report(capsys.readouterr().out)
    assert report["drift"] == [{"account_id": who.account_id, "ledger": 1_000, "hot": 1_005, "difference": 5}]
    result = reconcile.handler({}, None)  # the scheduled function (its recheck waits: the drift stays)
    assert [d["difference"] for d in result["drift"]] == [5] and result["swept"] == []


def test_grant_expiry_in_the_periodic_work_reaches_dynamodb(endpoint, local_env):
    local_env(gateway_env(endpoint, create_table(endpoint)))
    who = account(1_000)
    state = hot_state()
    assert state.seed_account(who.account_id)
    soon = int(time.time() * 1000) + 200
    row = store().write(lambda c: ledger.grant(c, who.account_id, 500, expires_at=soon))
    hotstate.mirror_ledger("id = ?", (row,))  # what POST /admin/accounts/{id}/credits does
    assert state.balance(who.account_id) == (1_500, 0)
    time.sleep(0.3)
    asyncio.run(maintenance.run())
    assert state.balance(who.account_id) == (1_000, 0)
    assert reconcile.drifted(state, store()) == []


def test_grant_expiry_does_not_claw_back_credit_held_in_dynamodb(endpoint, local_env):
    """The SQLite balance has no holds in this mode: the expiry takes what DynamoDB says the
    account can spend, so a call in flight keeps its hold and its charge is still covered."""
    local_env(gateway_env(endpoint, create_table(endpoint)))
    who = account(0)
    state = hot_state()
    soon = int(time.time() * 1000) + 200
    row = store().write(lambda c: ledger.grant(c, who.account_id, 100, expires_at=soon))
    hotstate.mirror_ledger("id = ?", (row,))
    hold = state.admit(ask(who, 50))  # a call in flight
    time.sleep(0.3)
    asyncio.run(maintenance.run())
    expired = store().query_one("SELECT SUM(amount) FROM credit_ledger WHERE account_id = ? AND kind = 'expire'",
                                (who.account_id,))[0]
    assert expired == -50 and state.balance(who.account_id) == (0, 50)
    assert state.settle(hold, 30, 0) == 30  # the call ends: its charge is covered by what it held
    store().write(lambda c: accounting.book(c, who.account_id, who.id, hold.request_id, 30))  # the log books it
    assert state.balance(who.account_id) == (20, 0) and reconcile.drifted(state, store()) == []


def test_sqlite_counts_a_hold_no_call_in_flight_owns_as_expired(local_env):
    local_env({})
    who = account(1_000)
    state = InTransaction()
    hold = state.admit(ask(who, 300))  # admission writes the in-flight row with it; here there is none
    assert [h.request_id for h in state.expired(time.time())] == [hold.request_id]
    state.release(hold)
    assert state.expired(time.time()) == [] and state.balance(who.account_id) == (1_000, 0)
