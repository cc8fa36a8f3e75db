"""The call log's ops escape hatches: move dead letters back to the queue, or apply a queue's
messages from here. Both receive, act and only then delete, in batches of ten; whatever is
interrupted comes back after its visibility timeout, and applying it twice changes nothing."""
from __future__ import annotations

from typing import Any

from chalicelib.calllog.lambda_writer import drain
from chalicelib.store.db import Store

BATCH = 10  # SQS's most per receive and per batch call
VISIBILITY_S = 60


def dead_letter_queue(sqs: Any, queue_url: str) -> str:
    """The URL of the queue's DLQ, from its RedrivePolicy."""
    import json

    policy = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
    raw = policy.get("Attributes", {}).get("RedrivePolicy")
    if not raw:
        raise LookupError(f"{queue_url} has no dead-letter queue (no RedrivePolicy)")
    arn = json.loads(raw)["deadLetterTargetArn"]
    _, _, _, _, account, name = arn.split(":", 5)
    return sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


def _receive(sqs: Any, url: str) -> list[dict[str, Any]]:
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=BATCH, WaitTimeSeconds=1,
                               VisibilityTimeout=VISIBILITY_S).get("Messages", [])


def _delete(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
    if messages:
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for i, m in enumerate(messages)])


def redrive(sqs: Any, source: str, target: str, limit: int | None = None) -> int:
    """Move messages from `source` (the DLQ) to `target`; returns how many were moved."""
    moved = 0
    while limit is None or moved < limit:
        got = _receive(sqs, source)[: None if limit is None else limit - moved]
        if not got:
            break
        sent = sqs.send_message_batch(QueueUrl=target, Entries=[{"Id": str(i), "MessageBody": m["Body"]}
                                                                for i, m in enumerate(got)])
        ok = {int(entry["Id"]) for entry in sent.get("Successful", [])}
        _delete(sqs, source, [m for i, m in enumerate(got) if i in ok])
        moved += len(ok)
        if len(ok) < len(got):
            break  # the target refuses: what is left stays in the source
    return moved


def drain_here(sqs: Any, url: str, db: Store, limit: int | None = None) -> tuple[int, int]:
    """Apply `url`'s messages to `db` as the writer function would; returns (applied, failed).
    A failed message stays on its queue (it comes back after its visibility timeout)."""
    applied = failed = 0
    while limit is None or applied + failed < limit:
        got = _receive(sqs, url)
        if not got:
            break
        refused = {f["itemIdentifier"] for f in drain(db, [{"messageId": m["MessageId"], "body": m["Body"]}
                                                          for m in got])["batchItemFailures"]}
        _delete(sqs, url, [m for m in got if m["MessageId"] not in refused])
        applied += len(got) - len(refused)
        failed += len(refused)
        if refused and len(refused) == len(got):
            break  # only what this copy cannot apply is left: stop instead of receiving it again
    return applied, failed
