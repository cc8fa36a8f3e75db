"""What every admin command shares: the database it works on and the in-process admin call."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from chalicelib.config import settings


class CliError(Exception):
    """A message for the user and the exit status; never a traceback."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def existing_database() -> str:
    """The server's database, named on stderr (stdout stays clean for --json). A missing file
    is refused rather than created: an empty new database is never what an admin command meant."""
    path = settings().db_path
    if not Path(path).is_file():
        raise CliError(f"no aihub database at {path}. Start the server once (`make serve` or `aihub serve`), "
                       "or set AIHUB_DB to the database the server uses.", status=2)
    print(f"database: {path}", file=sys.stderr)
    return path


def admin_call(handler_ref: str, *, params: dict[str, str] | None = None, body: Any = None,
               query: dict[str, Any] | None = None) -> Any:
    """Run an admin route's handler in-process, so the CLI shares the API's validation and rules;
    returns its JSON answer (or text, for CSV)."""
    import asyncio

    import orjson

    from chalicelib.errors import ApiError
    from chalicelib.gateway.auth import ENV_ADMIN
    from chalicelib.gateway.dispatch import Endpoint
    from chalicelib.gateway.http import ApiRequest, ApiResponse

    existing_database()
    clean_query = {k: str(v) for k, v in (query or {}).items() if v is not None}
    req = ApiRequest("CLI", handler_ref, {}, orjson.dumps(body) if body is not None else b"",
                     query=clean_query, params=params or {})

    async def call() -> tuple[ApiResponse, bytes]:
        response = await Endpoint("CLI", handler_ref, handler_ref, "admin").handler()(req, ENV_ADMIN)
        if isinstance(response.body, bytes):
            return response, response.body
        return response, b"".join([chunk async for chunk in response.body])  # streamed: the CSV export

    try:
        response, raw = asyncio.run(call())
    except ApiError as error:
        hint = f" ({error.param})" if error.param else ""
        raise CliError(f"{error.message}{hint}") from None
    content_type = response.headers.get("content-type", "") if response.headers else ""
    return orjson.loads(raw) if "json" in content_type or raw[:1] in (b"{", b"[") else raw.decode()
