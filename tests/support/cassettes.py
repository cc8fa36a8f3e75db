"""Load go-vcr (v2) cassettes of real OpenAI exchanges from tests/fixtures.

A cassette is YAML: ``interactions[].request{method,url,body,headers}`` and
``response{code,headers,body}``. We turn each interaction into an immutable
:class:`Interaction` that tests and the fake upstream can use directly.

Only ``tests/fixtures`` is read, so this works from a plain clone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

CASSETTE_DIR: Path = Path(__file__).resolve().parents[1] / "fixtures" / "openai-cassettes"

# The C loader is ~10x faster; fall back to pure Python where libyaml is absent.
_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# An SSE event ends at a blank line; accept CRLF too, as the SSE spec does.
_EVENT_SPLIT = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True)
class Interaction:
    """One recorded request/response pair."""

    method: str
    path: str  # URL path only, e.g. "/v1/chat/completions"
    request_json: dict[str, Any] | None  # None when the body is not JSON (e.g. multipart)
    status: int
    response_headers: dict[str, str]  # first value of each header, names as recorded
    response_body: bytes  # for SSE: normalised so every event ends with "\n\n"
    is_sse: bool
    url: str = ""  # full recorded URL (host differs for Azure)
    request_body: bytes = b""
    _frames: tuple[bytes, ...] = field(default=(), repr=False, compare=False)

    @property
    def content_type(self) -> str:
        for name, value in self.response_headers.items():
            if name.lower() == "content-type":
                return value
        return ""

    def sse_frames(self) -> list[bytes]:
        """Raw SSE events, each ending in ``\\n\\n``, ready to write to the wire."""
        if not self.is_sse:
            raise ValueError(f"{self.method} {self.path}: response is not an SSE stream")
        return list(self._frames)

    def sse_events(self) -> list[bytes]:
        """The ``data:`` payload of each event, including the final ``[DONE]``."""
        return [p for p in (_data_of(f) for f in self.sse_frames()) if p is not None]


def _data_of(frame: bytes) -> bytes | None:
    """Payload of one SSE event; multi-line ``data:`` fields join with ``\\n`` (SSE spec)."""
    lines = [
        line[5:].removeprefix(b" ")
        for line in frame.splitlines()
        if line.startswith(b"data:")
    ]
    return b"\n".join(lines) if lines else None


def split_sse(body: bytes) -> tuple[bytes, ...]:
    """Split an SSE body into events, each re-terminated with ``\\n\\n``.

    Why: YAML block scalars (``|-`` vs ``|+``) may or may not keep the trailing
    newlines, so the recorded body can end mid-terminator; normalising here
    guarantees the replayed stream is valid SSE whatever the YAML style.
    """
    return tuple(e.strip(b"\r\n") + b"\n\n" for e in _EVENT_SPLIT.split(body) if e.strip(b"\r\n"))


def _first_values(headers: dict[str, Any] | None) -> dict[str, str]:
    # go-vcr stores every header as a list of values; tests want the first one.
    out: dict[str, str] = {}
    for name, values in (headers or {}).items():
        if isinstance(values, list):
            if values:
                out[str(name)] = str(values[0])
        elif values is not None:
            out[str(name)] = str(values)
    return out


def _parse_json(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None  # e.g. "[multipart form data omitted]"
    return value if isinstance(value, dict) else None


def _interaction(raw: dict[str, Any]) -> Interaction:
    req, resp = raw["request"], raw["response"]
    req_body = (req.get("body") or "").encode()
    body = (resp.get("body") or "").encode()
    headers = _first_values(resp.get("headers"))
    ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    is_sse = ctype.lower().startswith("text/event-stream") or body.lstrip().startswith(b"data:")
    frames = split_sse(body) if is_sse else ()
    url = str(req.get("url") or "")
    return Interaction(
        method=str(req.get("method") or "GET").upper(),
        path=urlsplit(url).path or "/",
        request_json=_parse_json(req_body),
        status=int(resp.get("code") or 200),
        response_headers=headers,
        response_body=b"".join(frames) if is_sse else body,
        is_sse=is_sse,
        url=url,
        request_body=req_body,
        _frames=frames,
    )


@lru_cache(maxsize=None)
def _load(name: str) -> tuple[Interaction, ...]:
    path = CASSETTE_DIR / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no cassette {name!r} in {CASSETTE_DIR} (have: {', '.join(names())})")
    with path.open("rb") as f:
        doc = yaml.load(f, Loader=_Loader)
    return tuple(_interaction(i) for i in doc.get("interactions") or ())


def load(name: str) -> list[Interaction]:
    """Interactions of cassette ``name`` (file stem, e.g. ``"chat-streaming"``)."""
    return list(_load(name))  # parsed once per process; Interactions are immutable


def names() -> list[str]:
    """Stems of all available cassettes."""
    return sorted(p.stem for p in CASSETTE_DIR.glob("*.yaml"))
