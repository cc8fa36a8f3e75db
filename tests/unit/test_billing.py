"""Pricing (pure) and the money statements (on a real SQLite file), table-driven."""
from __future__ import annotations

import pytest

from chalicelib.billing import accounting, cost, estimate
from chalicelib.handlers.billing import margin_rate
from chalicelib.providers.base import Usage
from chalicelib.store import keys, ledger
from chalicelib.store.shared import store

RATE = cost.Rate("p", "m", "chat", input_rate=100, output_rate=400, cache_read_rate=10, cache_write_rate=125,
                 image_rate=50_000, second_rate=1_000, max_output_tokens=1_000)


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (Usage(), 0),
        (Usage(input_tokens=10, output_tokens=5), 10 * 100 + 5 * 400),
        # cache reads and writes at their own rates, never also as plain input
        (Usage(input_tokens=10, cache_read_tokens=1000, cache_write_tokens=200, output_tokens=5),
         10 * 100 + 1000 * 10 + 200 * 125 + 5 * 400),
        # reasoning tokens are output tokens (already inside output_tokens)
        (Usage(input_tokens=1, output_tokens=50, reasoning_tokens=40), 100 + 50 * 400),
        (Usage(images=3), 3 * 50_000),
        (Usage(seconds=2.5), 2_500),
    ],
)
def test_charge(usage, expected):
    assert cost.charge(RATE, usage) == expected


def test_cache_rates_default_to_the_input_rate():
    plain = cost.Rate("p", "m", "chat", input_rate=7, output_rate=0)
    assert cost.charge(plain, Usage(cache_read_tokens=3, cache_write_tokens=2)) == 35


CHAT = {"messages": [{"role": "user", "content": "x" * 12}]}


@pytest.mark.parametrize(
    ("kind", "body", "output"),
    [
        # every input token at the dearest input rate (125), + the output asked for x 400, for each choice
        ("chat", {**CHAT, "max_tokens": 50}, 50 * 400),
        ("chat", {**CHAT, "max_completion_tokens": 7, "n": 2}, 7 * 400 * 2),
        # no limit asked: the model's own output limit
        ("chat", CHAT, 1000 * 400),
        ("embedding", {"input": [1, 2, 3]}, 0),
        # each image at its price and its output tokens
        ("image", {"prompt": "x" * 9, "n": 2}, 2 * (50_000 + estimate.IMAGE_OUTPUT_TOKENS * 400)),
    ],
)
def test_reservation(kind, body, output):
    assert cost.reservation(RATE, kind, body) == estimate.input_tokens(kind, body) * 125 + output


def test_reservation_counts_the_input_by_its_bytes():
    assert estimate.input_tokens("embedding", {"input": [1, 2, 3]}) == 3
    assert estimate.input_tokens("chat", CHAT) >= 12 + estimate.TOKENS_PER_MESSAGE


@pytest.mark.parametrize(
    ("unit_cost", "margin", "price", "minor"),
    [(1.5e-07, 0.2, 1.0, 180), (3e-06, 0.0, 1.0, 3000), (1.5e-07, 0.2, 0.001, 180_000),
     (1e-10, 0.0, 1.0, 1)],  # never rounded down below cost
)
def test_margin_rate(unit_cost, margin, price, minor):
    assert margin_rate(unit_cost, margin, price) == minor


@pytest.fixture
def account(local_env) -> str:
    local_env({})
    record, _ = keys.create_key(store(), name="acct", credits_minor=1_000)
    return record.account_id


def _balance(account_id: str) -> tuple[int, int]:
    found = ledger.balance(store(), account_id)
    return found.balance, found.reserved


def test_reserve_settle_release(account):
    db = store()
    assert db.write(lambda c: accounting.reserve(c, "r1", account, None, 600))
    assert _balance(account) == (400, 600)
    assert not db.write(lambda c: accounting.reserve(c, "r2", account, None, 500))  # no room: nothing held
    assert _balance(account) == (400, 600)
    assert db.write(lambda c: accounting.settle(c, "r1", 250)) == 250
    assert _balance(account) == (750, 0)
    assert db.write(lambda c: accounting.reserve(c, "r3", account, None, 700))
    db.write(lambda c: accounting.release(c, "r3"))
    assert _balance(account) == (750, 0)
    # the ledger explains the balance exactly
    total = db.query_one("SELECT SUM(amount) FROM credit_ledger WHERE account_id = ?", (account,))[0]
    assert total == 750


def test_a_charge_beyond_the_hold_is_taken_in_full(account):
    db = store()
    db.write(lambda c: accounting.reserve(c, "r1", account, None, 900))
    assert db.write(lambda c: accounting.settle(c, "r1", 5_000)) == 5_000  # in full: nothing is forgiven
    assert _balance(account) == (-4_000, 0)
    note = db.query_one("SELECT note FROM credit_ledger WHERE request_id = 'r1'")[0]
    assert "overrun" in note and "4100" in note, note
    # In debt, the account is refused until it is back above zero, even for a free call.
    assert db.write(lambda c: accounting.reserve(c, "r2", account, None, 0)) is False
    db.write(lambda c: ledger.grant(c, account, 4_000))
    assert db.write(lambda c: accounting.reserve(c, "r3", account, None, 0)) is True


def test_orphaned_holds_are_released(account):
    db = store()
    db.write(lambda c: accounting.reserve(c, "old", account, None, 300))
    assert db.write(accounting.release_orphaned) == 1
    assert _balance(account) == (1_000, 0)
    assert db.write(lambda c: accounting.settle(c, "old", 100)) == 0  # settling late charges nothing twice


def test_grants_expire_only_their_unused_part(account):
    db = store()
    db.write(lambda c: ledger.grant(c, account, 500, expires_at=1))  # expires first, so spent first
    assert _balance(account) == (1_500, 0)
    db.write(lambda c: accounting.reserve(c, "r", account, None, 300))
    db.write(lambda c: accounting.settle(c, "r", 300))
    assert db.write(lambda c: ledger.expire_grants(c, 2)) == 200
    assert _balance(account) == (1_000, 0)
    assert db.write(lambda c: ledger.expire_grants(c, 3)) == 0  # once only
