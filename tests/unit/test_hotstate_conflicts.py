"""How the DynamoDB hot state reads DynamoDB's failures, against botocore's Stubber (a real
client whose answers are queued, no network): a single-item write that met a transaction is
sent again within a bounded budget, and a cancelled credit is "already in" only when a
condition said so, never when DynamoDB was throttled or busy."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.errors import ApiError
from chalicelib.hotstate import dynamodb
from chalicelib.hotstate.base import Ask
from chalicelib.hotstate.dynamodb import CONFLICT_RETRIES, DynamoHotState
from chalicelib.store.keys import KeyRecord

KEY = KeyRecord(id="key_1", account_id="acct_1", name=None, role="user", masked="k", created_at=0, expires_at=None,
                revoked_at=None, rpm=5, tpm=None, daily_cap=None, monthly_cap=None)
COUNTED = {"Attributes": {"pk": {"S": "usage#key_1#rpm:1"}, "requests": {"N": "1"}}}
ACCOUNT_SEEDED_PAST_IT = {"pk": {"S": "acct#acct_1"}, "balance": {"N": "900"}, "seeded_through": {"N": "9"}}


@pytest.fixture
def stubbed() -> Iterator[tuple[DynamoHotState, Stubber, list[str]]]:
    """The hot state on a stubbed client; the list gets each account the state seeded."""
    client = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                   region_name="us-east-1").client("dynamodb")
    seeded: list[str] = []

    def seed(account_id: str) -> tuple[int, int]:
        seeded.append(account_id)
        return 1_000, 9

    with Stubber(client) as stubber:
        yield DynamoHotState(client, "hot", seed=seed), stubber, seeded
        stubber.assert_no_pending_responses()


def conflict(stubber: Stubber, method: str = "update_item") -> None:
    stubber.add_client_error(method, "TransactionConflictException", "Transaction is ongoing for the item")


def cancelled(stubber: Stubber, *reasons: dict[str, Any]) -> None:
    stubber.add_client_error("transact_write_items", "TransactionCanceledException", "Transaction cancelled",
                             modeled_fields={"CancellationReasons": list(reasons)})


def counted_ask() -> Ask:
    """A call of a key with an rpm limit and nothing to hold: admission is one UpdateItem."""
    return Ask("req_1", "acct_1", "key_1", KEY, 0, 1_700_000_000.0)


@pytest.fixture
def backoffs(monkeypatch) -> list[int]:
    waits: list[int] = []
    monkeypatch.setattr(dynamodb, "_back_off", waits.append)
    return waits


def test_a_write_that_met_a_transaction_is_sent_again(stubbed, backoffs):
    state, stubber, _ = stubbed
    conflict(stubber)
    conflict(stubber)
    stubber.add_response("update_item", COUNTED)
    hold = state.admit(counted_ask())
    assert hold.headers["x-ratelimit-remaining-requests"] == "4"
    assert backoffs == [0, 1]


def test_conflicts_past_the_budget_are_a_503_within_bounded_time(stubbed):
    state, stubber, _ = stubbed
    for _ in range(CONFLICT_RETRIES):
        conflict(stubber)
    started = time.monotonic()
    with pytest.raises(ApiError) as info:
        state.admit(counted_ask())
    # full jitter doubling from 5 ms: at most 5 ms * (2**8 - 1) in all, whatever the draws
    assert time.monotonic() - started < 0.005 * (2**CONFLICT_RETRIES - 1) + 0.5
    assert (info.value.status, info.value.code) == (503, "hot_state_unavailable")
    assert "transaction conflicts" in info.value.message


def test_a_refusal_is_not_retried(stubbed, backoffs):
    state, stubber, _ = stubbed
    stubber.add_client_error("update_item", "ConditionalCheckFailedException", "The conditional request failed")
    with pytest.raises(ApiError) as info:
        state.admit(counted_ask())
    assert (info.value.status, info.value.code, backoffs) == (429, "rate_limit_requests", [])


@pytest.mark.parametrize("reasons, seeds", [
    # the row's marker exists: applied before
    ([{"Code": "None"}, {"Code": "ConditionalCheckFailed"}], []),
    # the account's seed came after the row, so it includes it
    ([{"Code": "ConditionalCheckFailed", "Item": ACCOUNT_SEEDED_PAST_IT}, {"Code": "None"}], []),
    # no account item yet: seeded from the ledger, which has the row
    ([{"Code": "ConditionalCheckFailed"}, {"Code": "None"}], ["acct_1"]),
])
def test_a_credit_cancelled_by_its_conditions_was_already_in(stubbed, reasons, seeds):
    state, stubber, seeded = stubbed
    cancelled(stubber, *reasons)
    if seeds:
        stubber.add_response("put_item", {})
    assert state.credit("acct_1", 500, 10) is False
    assert seeded == seeds


@pytest.mark.parametrize("reasons", [
    [{"Code": "ThrottlingError"}, {"Code": "None"}],
    [{"Code": "None"}, {"Code": "ThrottlingError"}],
    [{"Code": "ValidationError"}, {"Code": "None"}],
])
def test_a_credit_cancelled_for_any_other_reason_is_unavailable_not_dropped(stubbed, reasons):
    state, stubber, seeded = stubbed
    cancelled(stubber, *reasons)
    with pytest.raises(ApiError) as info:
        state.credit("acct_1", 500, 10)
    assert (info.value.status, info.value.code, seeded) == (503, "hot_state_unavailable", [])


def test_a_credit_that_met_a_transaction_is_retried_then_applied(stubbed, backoffs):
    state, stubber, _ = stubbed
    cancelled(stubber, {"Code": "TransactionConflict"}, {"Code": "None"})
    stubber.add_response("transact_write_items", {})
    assert state.credit("acct_1", 500, 10) is True
    assert backoffs == [0]


def test_a_credit_that_keeps_meeting_transactions_is_unavailable(stubbed, backoffs):
    state, stubber, _ = stubbed
    for _ in range(CONFLICT_RETRIES):
        cancelled(stubber, {"Code": "TransactionConflict"}, {"Code": "None"})
    with pytest.raises(ApiError) as info:
        state.credit("acct_1", 500, 10)
    assert (info.value.status, info.value.code) == (503, "hot_state_unavailable")
    assert backoffs == list(range(CONFLICT_RETRIES))
