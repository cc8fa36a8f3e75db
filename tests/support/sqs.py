"""A moto SQS server on loopback and what the call-log tests do with its queues: receive as
the Lambda SQS event source does, and build the writer function's event from that."""
from __future__ import annotations

import json
import sys
import time
from typing import Any

from tests.support import aws

CREDENTIALS = aws.CREDENTIALS


def client(endpoint: str) -> Any:
    return aws.client("sqs", endpoint)


def queue_pair(sqs: Any, name: str, *, max_receive: int, visibility_s: int) -> tuple[str, str]:
    """A queue and its dead-letter queue (URLs)."""
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)})
    queue = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": policy,
                                                         "VisibilityTimeout": str(visibility_s)})["QueueUrl"]
    return queue, dlq


def receive_all(sqs: Any, url: str, *, visibility_s: int | None = None, settle_s: float = 0.3) -> list[dict]:
    """Every message visible now (received, so invisible for their visibility timeout)."""
    got: list[dict] = []
    quiet_until = time.monotonic() + settle_s
    while time.monotonic() < quiet_until:
        extra = {"VisibilityTimeout": visibility_s} if visibility_s is not None else {}
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                    AttributeNames=["ApproximateReceiveCount"], **extra).get("Messages", [])
        if batch:
            got += batch
            quiet_until = time.monotonic() + settle_s
    return got


def lambda_event(messages: list[dict]) -> dict:
    """The event the SQS event source hands a Lambda function for these messages."""
    return {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                         "attributes": m.get("Attributes", {}), "eventSource": "aws:sqs"} for m in messages]}


def delete(sqs: Any, url: str, messages: list[dict]) -> None:
    for start in range(0, len(messages), 10):
        chunk = messages[start:start + 10]
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for i, m in enumerate(chunk)])


def depth(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                  "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(v) for v in attrs["Attributes"].values())


def worker(endpoint: str, url: str, stage: str) -> None:
    """A writer function's run, as its own process: receive the queue's messages, apply them
    with the writer's handler when `stage` is "applied", say so, and hang (until killed) before
    deleting anything."""
    from chalicelib.calllog import lambda_writer

    sqs = client(endpoint)
    messages = receive_all(sqs, url)
    print(f"received {len(messages)}", flush=True)
    if stage == "applied":
        out = lambda_writer.handler(lambda_event(messages), None)
        print(f"applied {json.dumps(out)}", flush=True)
    time.sleep(600)


if __name__ == "__main__":
    worker(*sys.argv[1:4])
