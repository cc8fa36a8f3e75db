"""Routes that need no key and touch nothing heavy."""
from __future__ import annotations

from chalicelib.gateway.http import ApiRequest, ApiResponse, JSON


async def health(req: ApiRequest, who: object = None) -> ApiResponse:
    return ApiResponse(200, b'{"status":"ok"}', {"content-type": JSON})
