"""The call log: where a call's settlement (its record, charge and counters) is written.

`AIHUB_SETTLEMENTS=local` (the default): by this process's writer thread, before the response
goes out, as it always was. `sqs`: sent to the queue AIHUB_SETTLEMENTS_QUEUE_URL, which one writer
function (lambda_writer.py) drains in batches into the database; the request path then waits
on no database transaction for an unbilled call. Both apply the same messages with the same
code (apply.py).
"""
from __future__ import annotations

from chalicelib.billing.accounting import MAX_CHARGE
from chalicelib.calllog.message import Message
from chalicelib.config import settings
from chalicelib.store.calls import CallRecord


def queued() -> bool:
    """Settlements go to the queue: a call starting needs no database write (its `begin` is
    sent with `send`), and one that holds credits is in flight until a deadline, not a lease."""
    return settings().settlements == "sqs"


def deadline(record: CallRecord) -> int:
    """When a queued call is taken for dead (epoch ms): no invocation outlives it."""
    return record.created_at + int(settings().call_deadline_s * 1000)


def expected_credits(msg: Message) -> int:
    """What a settle charges when its hold is there to settle (apply.py): the record of a call
    whose settlement is queued carries it, for the surfaces that report it."""
    if not msg.cost:
        return 0
    if msg.charged_externally or (msg.hold is not None and msg.hold.amount):
        return min(msg.cost, MAX_CHARGE)
    return 0


async def send(msg: Message) -> int:
    """Write `msg` to the call log; returns the credits the call's record carries. Never loses
    it: locally the writer keeps it until it commits (DatabaseUnavailable says it is kept, not
    yet written); queued, a failed send falls back to the local writer."""
    if queued():
        from chalicelib.calllog import sqs

        await sqs.send(msg)
        return expected_credits(msg)
    return await local(msg)


async def local(msg: Message) -> int:
    from chalicelib.calllog.apply import apply
    from chalicelib.store.shared import writer

    return await writer().run(lambda conn: apply(conn, msg), durable=True)
