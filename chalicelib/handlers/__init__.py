"""Route handlers: `async def handler(req: ApiRequest, who: Principal | None) -> ApiResponse`.

The route table in app.py names them as "module:function" and they are imported on first
use, so a cold start that serves /health never imports httpx, pydantic or sqlite-utils.
"""
