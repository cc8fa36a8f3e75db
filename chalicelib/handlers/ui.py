"""The admin web UI: static files built by Vite from web/ into chalicelib/ui/ (so the Lambda
package carries them). Hashed asset names never change, so they are cached for a year."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from chalicelib.errors import not_found
from chalicelib.gateway.http import ApiRequest, ApiResponse

ROOT = Path(__file__).resolve().parents[1] / "ui"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
         ".json": "application/json", ".map": "application/json", ".txt": "text/plain; charset=utf-8"}
SAFE_NAME = re.compile(r"^[\w][\w.-]*$")
# The page runs only its own files: no inline script, no eval; React sets styles through the
# DOM, which a style-src without 'unsafe-inline' allows. The favicon is a data: URI.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
NOT_BUILT = (b"<!doctype html><title>aihub</title><h1>aihub</h1><p>The web UI is not built. "
             b"<code>make serve</code> builds it (it needs Node.js and npm).</p>")


@lru_cache(maxsize=256)
def _read(path: Path) -> bytes:
    return path.read_bytes()


async def index(req: ApiRequest, who: object = None) -> ApiResponse:
    if not req.path.endswith("/"):
        # Under an API Gateway stage (https://.../prod) the page needs its trailing slash, or
        # its relative ./assets and API paths would miss the stage.
        location = req.path + "/" + ("?" + urlencode(req.query) if req.query else "")
        return ApiResponse(308, b"", {"location": location})
    page = ROOT / "index.html"
    body = _read(page) if page.is_file() else NOT_BUILT
    return ApiResponse(200, body, {"content-type": "text/html; charset=utf-8", "cache-control": "no-cache",
                                   "content-security-policy": CSP})


async def asset(req: ApiRequest, who: object = None) -> ApiResponse:
    name = req.params["name"]
    path = ROOT / "assets" / name
    if not SAFE_NAME.match(name) or path.suffix not in TYPES or not path.is_file():
        raise not_found(f"No asset {name}.", code="asset_not_found")
    return ApiResponse(200, _read(path), {"content-type": TYPES[path.suffix],
                                          "cache-control": "public, max-age=31536000, immutable"})
