"""`aihub calllog`: the queued call log's ops commands (AIHUB_SETTLEMENTS_QUEUE_URL names the queue)."""
from __future__ import annotations

import argparse
import json
from typing import Any

from chalicelib.cli.commands import command, group
from chalicelib.cli.runtime import CliError


def _queue(args: argparse.Namespace) -> str:
    from chalicelib.config import settings

    url = args.queue or settings().env.get("AIHUB_SETTLEMENTS_QUEUE_URL")
    if not url:
        raise CliError("no queue: pass --queue URL or set AIHUB_SETTLEMENTS_QUEUE_URL.", status=2)
    return url


def _dead_letters(queue: str, given: str | None) -> str:
    from chalicelib.calllog import redrive, sqs

    try:
        return given or redrive.dead_letter_queue(sqs.client(), queue)
    except LookupError as exc:
        raise CliError(f"{exc}; pass --dlq URL.") from None


def _report(args: argparse.Namespace, data: dict[str, Any]) -> int:
    print(json.dumps(data) if args.json else "  ".join(f"{k}: {v}" for k, v in data.items()))
    return 0


def _redrive(args: argparse.Namespace) -> int:
    from chalicelib.calllog import redrive, sqs

    queue = _queue(args)
    dlq = _dead_letters(queue, args.dlq)
    return _report(args, {"moved": redrive.redrive(sqs.client(), dlq, queue, args.limit), "from": dlq, "to": queue})


def _drain(args: argparse.Namespace) -> int:
    from chalicelib.calllog import redrive, sqs
    from chalicelib.cli.runtime import existing_database
    from chalicelib.store.shared import store

    queue = _queue(args)
    source = _dead_letters(queue, None) if args.dlq else queue
    existing_database()
    applied, failed = redrive.drain_here(sqs.client(), source, store(), args.limit)
    return _report(args, {"applied": applied, "failed": failed, "from": source})


def add_calllog(sub: Any) -> None:
    calllog = group(sub, "calllog", "the queued call log (AIHUB_SETTLEMENTS=sqs): redrive dead letters, drain a queue")
    redrive = command(calllog, "redrive", "move the dead-letter queue's messages back to the call-log queue",
                      "aihub calllog redrive --queue https://sqs.eu-west-1.amazonaws.com/123456789012/aihub-calls",
                      _redrive)
    redrive.add_argument("--dlq", help="the dead-letter queue's URL (default: from the queue's RedrivePolicy)")
    drain = command(calllog, "drain", "apply the queue's messages to the database from here (when the writer "
                    "function cannot)", "AIHUB_DB=/mnt/aihub/aihub.db aihub calllog drain", _drain)
    drain.add_argument("--dlq", action="store_true", help="drain the dead-letter queue instead")
    for p in (redrive, drain):
        p.add_argument("--queue", help="the call-log queue's URL (default $AIHUB_SETTLEMENTS_QUEUE_URL)")
        p.add_argument("--limit", type=int, help="at most this many messages")
