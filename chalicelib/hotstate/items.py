"""The DynamoDB hot state's items and transactions, as data (dynamodb.py sends them): item
keys, the conditions of a hold and of its settlement, and what a cancelled hold means to the
client. The table's layout is described in dynamodb.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.errors import ApiError
from chalicelib.hotstate.base import Ask, Hold, cap_reached, insufficient, unavailable

MINUTE_TTL_S = 5 * 60  # rpm/tpm items outlive their minute by a few, then DynamoDB drops them
PERIOD_TTL_S = 40 * 86_400  # day and month cap items, once their period is over
GC_TTL_S = 7 * 86_400  # holds and credit marks: a week-late garbage collector, never the release

Item = dict[str, Any]


def acct_key(account_id: str) -> Item:
    return {"pk": {"S": f"acct#{account_id}"}}


def hold_key(request_id: str) -> Item:
    return {"pk": {"S": f"hold#{request_id}"}}


def usage_key(key_id: str, period: str) -> Item:
    return {"pk": {"S": f"usage#{key_id}#{period}"}}


def credit_key(account_id: str, ref: int) -> Item:
    return {"pk": {"S": f"credit#{account_id}#{ref}"}}


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def number(item: Item, name: str) -> int:
    return int(item[name]["N"]) if name in item else 0


@dataclass(frozen=True, slots=True)
class Part:
    """One item of a transaction and what its failed condition means."""

    what: str  # "acct", "hold", "cap"
    op: dict[str, Any]
    cap: tuple[str, int] | None = None  # ("daily"|"monthly", cap) of a cap item


def hold_parts(table: str, ask: Ask, hold: Hold) -> list[Part]:
    """The hold as one transaction: the account's conditional debit into `reserved`, the hold
    item (once per request id), and each spend cap's conditional reservation."""
    parts: list[Part] = []
    if ask.amount and ask.account_id:
        parts.append(Part("acct", {"Update": {
            "TableName": table, "Key": acct_key(ask.account_id),
            "UpdateExpression": "ADD balance :minus, reserved :amount",
            "ConditionExpression": "balance >= :amount AND balance >= :zero",
            "ExpressionAttributeValues": {":amount": n(ask.amount), ":minus": n(-ask.amount), ":zero": n(0)},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}))
    for period, cap, what in ask.caps():
        parts.append(Part("cap", {"Update": {
            "TableName": table, "Key": usage_key(hold.key_id or "", period),
            "UpdateExpression": "ADD reserved :amount, used :amount SET #ttl = :ttl",
            "ConditionExpression": "attribute_not_exists(used) OR used <= :room",
            "ExpressionAttributeNames": {"#ttl": "ttl"},
            "ExpressionAttributeValues": {":amount": n(ask.amount), ":room": n(cap - ask.amount),
                                          ":ttl": n(int(ask.now) + PERIOD_TTL_S)}}}, (what, cap)))
    if ask.amount:
        item = {**hold_key(ask.request_id), "amount": n(ask.amount), "minute": {"S": hold.minute or ""},
                "periods": {"S": ",".join(hold.periods)}, "deadline": n(hold.deadline),
                "ttl": n(hold.deadline + GC_TTL_S)}
        if ask.account_id:
            item["account_id"] = {"S": ask.account_id}
        if ask.key_id:
            item["key_id"] = {"S": ask.key_id}
        parts.append(Part("hold", {"Put": {"TableName": table, "Item": item,
                                           "ConditionExpression": "attribute_not_exists(pk)"}}))
    return parts


def settle_parts(table: str, hold: Hold, charged: int, tokens: int, now: float) -> list[dict[str, Any]]:
    """The settlement as one transaction: the hold goes (only if it is still there: a second
    settle, or one after the sweep, cancels and changes nothing), the account gets back what was
    held beyond the charge, the caps move the charge from reserved to spent, and the minute
    item counts the tokens."""
    ops: list[dict[str, Any]] = [{"Delete": {"TableName": table, "Key": hold_key(hold.request_id),
                                             "ConditionExpression": "attribute_exists(pk)"}}]
    if hold.account_id:
        ops.append({"Update": {"TableName": table, "Key": acct_key(hold.account_id),
                               "UpdateExpression": "ADD balance :back, reserved :minus",
                               "ExpressionAttributeValues": {":back": n(hold.amount - charged),
                                                             ":minus": n(-hold.amount)}}})
    for period in hold.periods:
        ops.append({"Update": {"TableName": table, "Key": usage_key(hold.key_id or "", period),
                               "UpdateExpression": "ADD reserved :minus, spent :charged, used :delta",
                               "ExpressionAttributeValues": {":minus": n(-hold.amount), ":charged": n(charged),
                                                             ":delta": n(charged - hold.amount)}}})
    if hold.minute and tokens:
        ops.append(tokens_update(table, hold, tokens, now))
    return ops


def tokens_update(table: str, hold: Hold, tokens: int, now: float) -> dict[str, Any]:
    return {"Update": {"TableName": table, "Key": usage_key(hold.key_id or "", hold.minute or ""),
                       "UpdateExpression": "ADD tokens :tokens SET #ttl = :ttl",
                       "ExpressionAttributeNames": {"#ttl": "ttl"},
                       "ExpressionAttributeValues": {":tokens": n(tokens), ":ttl": n(int(now) + MINUTE_TTL_S)}}}


def credit_parts(table: str, account_id: str, amount: int, ref: int, now: float) -> list[dict[str, Any]]:
    """A ledger row mirrored: added to the balance unless the account's seed included it, and
    marked applied so that a second mirror of it cancels."""
    return [{"Update": {"TableName": table, "Key": acct_key(account_id), "UpdateExpression": "ADD balance :amount",
                        "ConditionExpression": "attribute_exists(pk) AND seeded_through < :ref",
                        "ExpressionAttributeValues": {":amount": n(amount), ":ref": n(ref)},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
            {"Put": {"TableName": table, "Item": {**credit_key(account_id, ref), "amount": n(amount),
                                                  "ttl": n(int(now) + GC_TTL_S)},
                     "ConditionExpression": "attribute_not_exists(pk)"}}]


def rpm_update(table: str, key_id: str, minute: str, rpm: int | None, now: float) -> dict[str, Any]:
    """Count the request in its minute; with an rpm limit, only while under it."""
    update: dict[str, Any] = {
        "TableName": table, "Key": usage_key(key_id, minute),
        "UpdateExpression": "ADD requests :one SET #ttl = :ttl", "ExpressionAttributeNames": {"#ttl": "ttl"},
        "ExpressionAttributeValues": {":one": n(1), ":ttl": n(int(now) + MINUTE_TTL_S)}, "ReturnValues": "ALL_NEW"}
    if rpm:
        update["ConditionExpression"] = "attribute_not_exists(requests) OR requests < :rpm"
        update["ExpressionAttributeValues"][":rpm"] = n(rpm)
    return update


def refusal(parts: list[Part], reasons: list[dict[str, Any]], ask: Ask, hold: Hold) -> ApiError | None:
    """The client's error for a cancelled hold; None when the account item does not exist yet
    (it is seeded, and the hold tried again). A cap refusal wins over the credit one, as in the
    SQLite order of checks."""
    failed = [(part, reason) for part, reason in zip(parts, reasons) if reason.get("Code") == "ConditionalCheckFailed"]
    for part, _ in failed:
        if part.what == "cap" and part.cap:
            return cap_reached(part.cap[0], part.cap[1], ask.periods, hold.headers)
    for part, reason in failed:
        if part.what == "acct":
            if "Item" not in reason:
                return None
            return insufficient(ask.amount, number(reason["Item"], "balance"))
        if part.what == "hold":
            return ApiError(409, f"Request id {ask.request_id} is already held.", code="duplicate_request_id")
    return unavailable("transaction cancelled: " + ", ".join(sorted(reason_codes(reasons))))


def reason_codes(reasons: list[dict[str, Any]]) -> set[str]:
    """The codes of a cancelled transaction's items that failed ("None": the item was fine)."""
    return {r.get("Code", "") for r in reasons} - {"None", ""}


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def hold_of(item: Item) -> Hold:
    minute = item.get("minute", {}).get("S") or None
    return Hold(item["pk"]["S"].removeprefix("hold#"), item.get("account_id", {}).get("S"),
                item.get("key_id", {}).get("S"), number(item, "amount"), minute,
                tuple(filter(None, item.get("periods", {}).get("S", "").split(","))), number(item, "deadline"))
