"""The hot state in one DynamoDB table: conditional writes, so that holds from any number of
processes never overspend and a settlement is taken once.

Table: partition key `pk` (string), no sort key, TTL on `ttl` (epoch seconds). Items:
- `acct#<account_id>`: balance, reserved (minor units), seeded_through (the last ledger row the
  balance includes: credits up to it are already in);
- `hold#<request_id>`: account_id, key_id, amount, minute, periods, deadline; released by settle
  or by the sweeper, its TTL only a garbage collector a week late;
- `usage#<key_id>#<period>`: requests, tokens (minute items, TTL a few minutes ahead), spent,
  reserved and used = spent + reserved (day and month items): condition expressions cannot
  add, so a cap is checked as `used <= cap - amount`;
- `credit#<account_id>#<ref>`: a credit already applied (idempotency of top-ups and grants).

An account item is created on first use from the SQLite ledger (conditional put), so an
existing deployment switches over without a migration. boto3 is imported on first use only.
"""
from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from chalicelib.billing.accounting import MAX_CHARGE
from chalicelib.config import settings
from chalicelib.hotstate.base import (
    HOLD_DEADLINE_S,
    Ask,
    Hold,
    cap_reached,
    insufficient,
    limit_headers,
    too_many_requests,
    too_many_tokens,
    unavailable,
)
from chalicelib.hotstate.items import (
    acct_key,
    credit_parts,
    error_code,
    hold_of,
    hold_parts,
    n,
    number,
    reason_codes,
    refusal,
    rpm_update,
    settle_parts,
    tokens_update,
    usage_key,
)
from chalicelib.store.db import Store

log = logging.getLogger("aihub.hotstate")

# A write that met a concurrent transaction on the same item was not applied: it is retried,
# jittered, up to this many times (at most ~1.3 s in all), then the call gets a 503.
CONFLICT_RETRIES = 8
# The errors a caller reads as an answer (a condition that failed); every other error means
# DynamoDB could not answer now (throttled, down, or misconfigured: table, grants), and the call
# gets a 503 with retry-after.
ANSWERS = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException"})

Seed = Callable[[str], tuple[int, int] | None]  # account -> (ledger balance, last ledger row id)


def ledger_seed(account_id: str) -> tuple[int, int] | None:
    """The account as the SQLite ledger has it: its balance with what SQLite holds put back (an
    SQLite hold's call settles there), and the last ledger row that balance includes."""
    from chalicelib.store.shared import store

    row = store().query_one("SELECT a.balance + a.reserved, (SELECT COALESCE(MAX(id), 0) FROM credit_ledger"
                            " WHERE account_id = a.id) FROM accounts a WHERE a.id = ?", (account_id,))
    return (row[0], row[1]) if row else None


class DynamoHotState:
    def __init__(self, client: Any, table: str, seed: Seed = ledger_seed) -> None:
        self.client, self.table, self.seed = client, table, seed

    # -- calls into DynamoDB, with its failures mapped ------------------------------------------
    def _call(self, name: str, **kwargs: Any) -> Any:
        """One request, its failures mapped. A single-item write that met an ongoing transaction
        on its item (TransactionConflictException, which botocore does not retry) was not
        applied, so it is sent again."""
        from botocore.exceptions import BotoCoreError, ClientError

        for attempt in range(CONFLICT_RETRIES):
            try:
                return getattr(self.client, name)(**kwargs)
            except ClientError as exc:
                code = error_code(exc)
                if code in ANSWERS:
                    raise
                if code != "TransactionConflictException":
                    log.warning("hot state %s: %s", name, code)
                    raise unavailable(code) from None
            except BotoCoreError as exc:  # connection refused, timeouts: the store is out of reach
                log.warning("hot state %s: %s", name, type(exc).__name__)
                raise unavailable(type(exc).__name__) from None
            _back_off(attempt)
        log.warning("hot state %s: conflicts past the retry budget", name)
        raise unavailable("transaction conflicts")

    def _transact(self, ops: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """Run the transaction; None when it committed, else the cancellation reasons. A
        conflict with a concurrent transaction on the same item is retried, jittered.

        Each run has a token of its own: botocore resends it unchanged when an answer is lost
        (a timeout after the commit), and DynamoDB then does not apply it twice."""
        for attempt in range(CONFLICT_RETRIES):
            try:
                self._call("transact_write_items", TransactItems=ops, ClientRequestToken=secrets.token_hex(16))
                return None
            except Exception as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise
                reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
                if "TransactionConflict" not in reason_codes(reasons):
                    return reasons
                _back_off(attempt)
        log.warning("hot state transact_write_items: conflicts past the retry budget")
        raise unavailable("transaction conflicts")

    # -- the interface ----------------------------------------------------------------------------
    def admit(self, ask: Ask) -> Hold:
        key, p = ask.key, ask.periods
        hold = Hold(ask.request_id, ask.account_id, ask.key_id, ask.amount, p.minute if key else None,
                    tuple(period for period, _, _ in ask.caps()), int(ask.now) + HOLD_DEADLINE_S)
        if key is not None:
            self._count_request(ask, hold)
        try:
            self._hold(ask, hold)
        except Exception:
            if key is not None:
                self._uncount_request(hold)
            raise
        return hold

    def _count_request(self, ask: Ask, hold: Hold) -> None:
        key, p = ask.key, ask.periods
        assert key is not None
        try:
            counted = self._call("update_item", **rpm_update(self.table, key.id, p.minute, key.rpm, ask.now))
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise too_many_requests(key, p) from None
            raise
        item = counted["Attributes"]
        hold.headers = limit_headers(key, number(item, "requests"), number(item, "tokens"), p.minute_left)
        if key.tpm and number(item, "tokens") >= key.tpm:
            self._uncount_request(hold)
            raise too_many_tokens(key, p, hold.headers)

    def _uncount_request(self, hold: Hold) -> None:
        """A request refused after it was counted is not counted (SQLite rolls it back)."""
        try:
            self._call("update_item", TableName=self.table, Key=usage_key(hold.key_id or "", hold.minute or ""),
                       UpdateExpression="ADD requests :minus", ExpressionAttributeValues={":minus": n(-1)})
        except Exception:
            log.warning("could not uncount refused request %s", hold.request_id, exc_info=True)

    def _hold(self, ask: Ask, hold: Hold) -> None:
        parts = hold_parts(self.table, ask, hold)
        if not parts:
            return
        for period, cap, what in ask.caps():
            if ask.amount > cap:  # `used <= cap - amount` would pass on a new item
                raise cap_reached(what, cap, ask.periods, hold.headers)
        for _ in range(2):
            reasons = self._transact([part.op for part in parts])
            if reasons is None:
                return
            error = refusal(parts, reasons, ask, hold)
            if error is not None:
                raise error
            assert ask.account_id is not None
            if not self.seed_account(ask.account_id):
                raise insufficient(ask.amount, 0)
        raise unavailable("account item missing after its seed")

    def seed_account(self, account_id: str) -> bool:
        """Create the account's item from the SQLite ledger unless it exists; False when the
        ledger has no such account."""
        found = self.seed(account_id)
        if found is None:
            return False
        balance, through = found
        try:
            self._call("put_item", TableName=self.table,
                       Item={**acct_key(account_id), "balance": n(balance), "reserved": n(0),
                             "seeded_through": n(through)},
                       ConditionExpression="attribute_not_exists(pk)")
            log.info("hot state: account %s seeded from the ledger with %d", account_id, balance)
        except Exception as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
        return True

    def settle(self, hold: Hold, cost: int | None, tokens: int) -> int:
        """Take the charge (in full, clamped to MAX_CHARGE) and give back the rest of the hold;
        0 and nothing changed when the hold is gone (settled already, or swept)."""
        now = time.time()
        if not hold.amount:
            if hold.minute and tokens:
                self._call("update_item", **tokens_update(self.table, hold, tokens, now)["Update"])
            return 0
        charged = min(max(cost or 0, 0), MAX_CHARGE)
        reasons = self._transact(settle_parts(self.table, hold, charged, tokens, now))
        if reasons is None:
            return charged
        if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
            return 0
        raise unavailable("settlement cancelled")

    def release(self, hold: Hold) -> None:
        self.settle(hold, None, 0)

    def credit(self, account_id: str, amount: int, ref: int) -> bool:
        """Mirror a ledger credit (or debit) once per ledger row `ref`; False when it was already
        in (applied before, or included by the account's seed)."""
        reasons = self._transact(credit_parts(self.table, account_id, amount, ref, time.time()))
        if reasons is None:
            return True
        if "ConditionalCheckFailed" not in reason_codes(reasons):
            # Throttled, or any cancellation that is not an answer: the row is not in yet, and
            # saying it was would drop it from the mirror for good.
            codes = ", ".join(sorted(reason_codes(reasons)))
            log.warning("hot state: credit %d of %s cancelled (%s)", ref, account_id, codes)
            raise unavailable("credit cancelled: " + codes)
        account = reasons[0]  # credit_parts: the account's update, then the row's marker
        if account.get("Code") == "ConditionalCheckFailed" and "Item" not in account:
            self.seed_account(account_id)  # the seed reads the ledger, which has this row already
        # else the marker exists (applied before) or the account's seed included the row
        return False

    def mirror(self, db: Store, where: str, params: tuple[object, ...]) -> int:
        """Credit every ledger row matching `where` but charges (the hot state took those
        itself), each once; returns how many were new here."""
        rows = db.query(f"SELECT id, account_id, amount FROM credit_ledger WHERE kind != 'charge' AND ({where})"
                        " ORDER BY id", params)
        return sum(self.credit(r["account_id"], r["amount"], r["id"]) for r in rows)

    def balance(self, account_id: str) -> tuple[int, int] | None:
        item = self._call("get_item", TableName=self.table, Key=acct_key(account_id), ConsistentRead=True).get("Item")
        return (number(item, "balance"), number(item, "reserved")) if item else None

    def balances(self, account_ids: list[str]) -> dict[str, tuple[int, int]]:
        """Many accounts at once (BatchGetItem, 100 a request); unseeded ones are absent."""
        out: dict[str, tuple[int, int]] = {}
        for start in range(0, len(account_ids), 100):
            keys = [acct_key(a) for a in account_ids[start:start + 100]]
            while keys:
                got = self._call("batch_get_item", RequestItems={self.table: {"Keys": keys, "ConsistentRead": True}})
                for item in got["Responses"].get(self.table, []):
                    out[item["pk"]["S"].removeprefix("acct#")] = (number(item, "balance"), number(item, "reserved"))
                keys = got.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
        return out

    def expired(self, now: float) -> list[Hold]:
        """Holds past their deadline (a Scan: the sweeper runs every few minutes, not per call)."""
        holds: list[Hold] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table, "FilterExpression": "begins_with(pk, :hold) AND deadline < :now",
            "ExpressionAttributeValues": {":hold": {"S": "hold#"}, ":now": n(int(now))}, "ConsistentRead": True}
        while True:
            page = self._call("scan", **kwargs)
            holds += [hold_of(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return holds
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _back_off(attempt: int) -> None:
    """Full jitter, doubling from 5 ms: writers that met on an item do not meet again in step."""
    time.sleep(random.uniform(0, 0.005 * 2**attempt))


def client() -> Any:
    """A DynamoDB client (boto3 reads AWS_ENDPOINT_URL(_DYNAMODB) and the region itself); short
    timeouts, since a call waits on it: DynamoDB answers in milliseconds or not at all."""
    import boto3
    from botocore.config import Config

    env = settings().env
    return boto3.session.Session().client(
        "dynamodb", region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
        config=Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 3},
                      max_pool_connections=64))


@lru_cache(maxsize=1)
def hot_state() -> DynamoHotState:
    """This process's DynamoDB hot state (one client per process, thread-safe)."""
    table = settings().dynamodb_table
    assert table, "config.from_env refuses dynamodb without a table"
    return DynamoHotState(client(), table)
