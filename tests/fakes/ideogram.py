"""Ideogram's wire format for the fake upstream, after developer.ideogram.ai's API reference.

Generate (3.0: multipart POST /v1/ideogram-v3/generate; legacy: JSON POST /generate) answers
`{"created": <ISO 8601 datetime>, "data": [ImageObject]}`; errors are `{"error": "<message>"}`.
"""
from __future__ import annotations

from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from tests.fakes.upstream import FakeUpstream
from tests.fakes.wire import RecordedRequest

V3_PATH = "/v1/ideogram-v3/generate"
LEGACY_PATH = "/generate"
CREATED = "2025-04-05T10:20:30.123456+00:00"
CREATED_UNIX = 1743848430
# Not a real PNG, but bytes a base64 round trip must preserve (incl. NUL and high bytes).
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def image_object(url: str | None, prompt: str, *, safe: bool = True, resolution: str = "1024x1024",
                 seed: int = 12345, style_type: str = "GENERAL") -> dict[str, Any]:
    """One ImageObject; an unsafe image comes without a URL."""
    return {"url": url if safe else None, "prompt": prompt, "resolution": resolution, "is_image_safe": safe,
            "seed": seed, "style_type": style_type}


def generate_response(*images: dict[str, Any]) -> dict[str, Any]:
    return {"created": CREATED, "data": list(images)}


def serve_image(fake: FakeUpstream, name: str, content: bytes = PNG) -> str:
    """Route GET of an ephemeral image on the fake; returns its URL (pre-signed, as Ideogram's are)."""
    path = f"/api/images/ephemeral/{name}.png"
    fake.route("GET", path, body=content, headers={"content-type": "image/png"})
    return fake.url(path) + "?exp=1743867804&sig=e13e12677633f646"


def form_fields(request: RecordedRequest) -> dict[str, str]:
    """The multipart/form-data fields of a request, checked to be plain (no file) parts."""
    content_type = request.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary="), content_type
    message: Message = BytesParser(policy=HTTP).parsebytes(
        f"content-type: {content_type}\r\n\r\n".encode() + request.body)
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        assert part.get_param("filename", header="content-disposition") is None
        name = part.get_param("name", header="content-disposition")
        assert name not in fields, f"field {name} sent twice"
        fields[name] = part.get_payload(decode=True).decode()
    return fields
