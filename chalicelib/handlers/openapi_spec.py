"""GET /openapi.json: the OpenAPI description of every route, built on the first request and
kept for the life of the process (the route table does not change while it runs)."""
from __future__ import annotations

from functools import cache

import orjson

from chalicelib.gateway.http import JSON, ApiRequest, ApiResponse


@cache
def _document() -> bytes:
    from importlib.metadata import PackageNotFoundError, version

    import app
    from chalicelib.openapi.document import build

    try:
        release = version("aihub")
    except PackageNotFoundError:  # run from a checkout, not installed
        release = "0.0.0"
    return orjson.dumps(build(app.route.endpoints, release))


async def document(req: ApiRequest, who: object = None) -> ApiResponse:
    # Public, and the same for everyone: any cache may keep it a while.
    return ApiResponse(200, _document(), {"content-type": JSON, "cache-control": "public, max-age=300"})
