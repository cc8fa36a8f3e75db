"""Sending call-log messages to SQS: boto3 is loaded on the first send only (a local
`aihub serve` never imports it), and its client is kept for the life of the process."""
from __future__ import annotations

import asyncio
import logging
import time
from functools import lru_cache
from typing import Any

from chalicelib.calllog.message import Message
from chalicelib.config import settings

log = logging.getLogger("aihub.calllog")

# SendMessage retried after these waits (seconds) within SEND_BUDGET_S, then the local writer
# takes the message: a brownout of SQS must not hold a call until its Lambda is killed.
BACKOFF_S = (0.05, 0.2, 0.8)
SEND_BUDGET_S = 5.0


@lru_cache(maxsize=1)
def client() -> Any:
    import boto3
    from botocore.config import Config

    env = settings().env
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    # No botocore retries: BACKOFF_S is the one retry policy, so the budget holds.
    config = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1, read_timeout=2)
    return boto3.session.Session().client("sqs", region_name=region, config=config)


def _send_blocking(body: str) -> None:
    url = settings().settlements_queue_url
    give_up = time.monotonic() + SEND_BUDGET_S
    for wait in (*BACKOFF_S, None):
        try:
            client().send_message(QueueUrl=url, MessageBody=body)
            return
        except Exception as exc:
            if wait is None or time.monotonic() + wait >= give_up:
                raise
            log.warning("call log: SendMessage failed (%s); retrying in %.2f s", type(exc).__name__, wait)
            time.sleep(wait)


async def send(msg: Message) -> None:
    """Send `msg` to the queue, or (after the retries) commit it through the local writer: a
    record is never lost, only written by this process instead of the writer function."""
    body = msg.to_json().decode()
    try:
        await asyncio.to_thread(_send_blocking, body)
        return
    except Exception as exc:  # noqa: BLE001 -- whatever failed, the record must still be written
        log.error("call log: the queue did not take %s %s (%s: %s); writing it locally",
                  msg.kind, msg.request_id, type(exc).__name__, exc)
    from chalicelib.calllog import local

    await local(msg)
