"""GET /metrics: Prometheus text of `aihub serve`.

Admin-only by default (it names providers, models and credential counts: enough to map a
deployment), public with AIHUB_METRICS_PUBLIC=on for a scraper on a private network, absent
with AIHUB_METRICS=off and on Lambda, where the same figures are CloudWatch EMF in the log.
"""
from __future__ import annotations

import time

from chalicelib.config import observability
from chalicelib.errors import ApiError
from chalicelib.gateway.auth import authenticate
from chalicelib.gateway.http import ApiRequest, ApiResponse
from chalicelib.observability.hub import prometheus_on
from chalicelib.store import providers as provider_rows
from chalicelib.store.shared import store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def metrics(req: ApiRequest, who: object = None) -> ApiResponse:
    if not prometheus_on():
        raise ApiError(404, "Metrics are off here (AIHUB_METRICS=off, or on Lambda, where they are CloudWatch "
                            "embedded metrics in the log).", code="metrics_disabled")
    if not observability().metrics_public:
        authenticate(req, admin=True)
    from chalicelib.observability import prom

    states = provider_rows.credential_states(store(), int(time.time() * 1000))
    return ApiResponse(200, prom.render([prom.credential_states(states)]), {"content-type": CONTENT_TYPE})
