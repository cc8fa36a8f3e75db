"""Routes that need no key and touch nothing heavy."""
from __future__ import annotations

import sys

import orjson

from chalicelib.gateway.http import ApiRequest, ApiResponse, JSON

OK = b'{"status":"ok"}'


async def health(req: ApiRequest, who: object = None) -> ApiResponse:
    """200 while calls can be recorded; 503 while the database refuses writes (a full or
    failing disk), so a load balancer stops sending calls here. It reads the
    writer's last outcome and does no I/O, so a locked database cannot slow it down."""
    shared = sys.modules.get("chalicelib.store.shared")  # not imported yet: nothing has failed
    writer = getattr(shared, "_writer", None)
    failure = writer.unwritable if writer is not None else None
    if failure is None:
        return ApiResponse(200, OK, {"content-type": JSON})
    body = {"status": "degraded", "database": "unwritable", "reason": failure.reason, "detail": failure.message,
            "pending_writes": writer.backlog}
    return ApiResponse(503, orjson.dumps(body), {"content-type": JSON, "retry-after": "5"})
