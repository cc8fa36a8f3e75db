"""API Gateway REST proxy events, as API Gateway hands them to the Lambda (`app.app`).

`chalice.test.Client` routes like Chalice's local server, which cannot match a greedy `{x+}`
parameter over more than one segment; API Gateway can, so tests of such routes send the event
API Gateway would send: the resource path as registered, the parameters it extracted.
"""
from __future__ import annotations

import json
import re
from typing import Any

_PARAM = re.compile(r"\{(\w+)(\+?)\}")


def resource_of(registered: list[str], path: str) -> tuple[str, dict[str, str]]:
    """The resource API Gateway picks for `path` (literal segments first, greedy last) and its
    path parameters."""
    def regex(resource: str) -> re.Pattern[str]:
        parts = [re.escape(p) if not _PARAM.fullmatch(p) else
                 (f"(?P<{p[1:-2]}>.+)" if p.endswith("+}") else f"(?P<{p[1:-1]}>[^/]+)") for p in resource.split("/")]
        return re.compile("^" + "/".join(parts) + "$")

    ordered = sorted(registered, key=lambda r: (r.count("+}"), r.count("{")))
    for resource in ordered:
        found = regex(resource).match(path)
        if found:
            return resource, found.groupdict()
    raise LookupError(f"API Gateway has no resource for {path}")


def event(app: Any, method: str, path: str, *, headers: dict[str, str] | None = None,
          body: bytes | str = b"", stage: str = "prod") -> dict[str, Any]:
    resource, params = resource_of(list(app.routes), path)
    headers = {"Host": "x.execute-api", **(headers or {})}
    return {
        "resource": resource, "path": path, "httpMethod": method,
        "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": params or None, "stageVariables": None,
        "requestContext": {"resourcePath": resource, "httpMethod": method, "stage": stage,
                           "path": f"/{stage}{path}", "requestId": "req-1", "accountId": "123456789012",
                           "identity": {"sourceIp": "203.0.113.9"}},
        "body": body.decode() if isinstance(body, bytes) else body, "isBase64Encoded": False,
    }


def call(app: Any, method: str, path: str, **options: Any) -> tuple[int, dict[str, str], bytes]:
    """Send one event to the app; its status, headers (lower-cased) and body."""
    out = app(event(app, method, path, **options), None)
    headers = {k.lower(): v for k, v in (out.get("headers") or {}).items()}
    for name, values in (out.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ", ".join(values)
    return out["statusCode"], headers, (out.get("body") or "").encode()


def json_of(body: bytes) -> Any:
    return json.loads(body)
