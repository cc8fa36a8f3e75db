"""multipart/form-data (RFC 7578): the parts of an upload, and the same parts encoded again.

Small and pure on purpose: the audio routes need to read a handful of fields and one file and
send them on with the model replaced, which does not justify a parser dependency in the Lambda
package. Part bodies are slices of the request, never decoded or copied line by line, so a
file passes through byte for byte.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from chalicelib.errors import bad_request


@dataclass(frozen=True, slots=True)
class Part:
    name: str
    data: bytes
    filename: str | None = None  # set on file parts
    content_type: str | None = None

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def _params(header: str) -> tuple[str, dict[str, str]]:
    """A header value's main token and its `key=value` parameters (quotes removed)."""
    head, *rest = _split(header)
    params: dict[str, str] = {}
    for item in rest:
        key, eq, value = item.partition("=")
        if not eq:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params[key.strip().lower()] = value
    return head.strip().lower(), params


def _split(header: str) -> list[str]:
    """`;`-separated items, not splitting inside quotes (a filename may hold a `;`)."""
    items, current, quoted, escaped = [], "", False, False
    for ch in header:
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            items.append(current)
            current = ""
            continue
        current += ch
    items.append(current)
    return items


def boundary(content_type: str) -> str:
    kind, params = _params(content_type)
    if kind != "multipart/form-data" or not params.get("boundary"):
        raise bad_request("Expected a multipart/form-data body (with its boundary), as OpenAI's audio routes take.",
                          code="invalid_content_type")
    return params["boundary"]


def parse(body: bytes, content_type: str) -> list[Part]:
    """The parts of a multipart/form-data body, in order; a malformed body is a 400."""
    delimiter = b"--" + boundary(content_type).encode("latin-1")
    start = body.find(delimiter)
    if start < 0 or (start > 0 and body[start - 2:start] != b"\r\n"):
        raise _malformed("no opening boundary")
    parts: list[Part] = []
    at = start + len(delimiter)
    separator = b"\r\n" + delimiter
    while True:
        if body.startswith(b"--", at):
            return parts  # the closing delimiter; anything after it is the epilogue
        line_end = body.find(b"\r\n", at)
        if line_end < 0:
            raise _malformed("the body ends inside a delimiter line")
        head_end = body.find(b"\r\n\r\n", line_end)
        if head_end == line_end:  # a part with no header at all
            headers: dict[str, str] = {}
        elif head_end < 0:
            raise _malformed("a part's headers never end")
        else:
            headers = _headers(body[line_end + 2:head_end])
        data_start = head_end + 4
        end = body.find(separator, data_start)
        if end < 0:
            raise _malformed("no closing boundary")
        parts.append(_part(headers, body[data_start:end]))
        at = end + len(separator)


def _headers(block: bytes) -> dict[str, str]:
    out = {}
    for line in block.decode("utf-8", "replace").split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            out[name.strip().lower()] = value.strip()
    return out


def _part(headers: dict[str, str], data: bytes) -> Part:
    kind, params = _params(headers.get("content-disposition", ""))
    if kind != "form-data" or "name" not in params:
        raise _malformed("a part has no Content-Disposition form-data name")
    filename = params.get("filename")
    return Part(params["name"], data, filename, headers.get("content-type"))


def _malformed(why: str) -> Exception:
    return bad_request(f"The multipart/form-data body is malformed: {why}.", code="invalid_multipart")


def _quote(value: str) -> str:
    # RFC 7578 4.2: as browsers do, a quote is escaped as %22 and line breaks as %0D/%0A.
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def encode(parts: list[Part]) -> tuple[bytes, str]:
    """The body and its Content-Type header for `parts`, with a fresh boundary."""
    mark = "aihub-" + secrets.token_hex(16)  # 128 random bits: no file holds it by chance
    out = bytearray()
    for part in parts:
        disposition = f'form-data; name="{_quote(part.name)}"'
        if part.filename is not None:
            disposition += f'; filename="{_quote(part.filename)}"'
        out += f"--{mark}\r\nContent-Disposition: {disposition}\r\n".encode()
        if part.content_type:
            out += f"Content-Type: {part.content_type}\r\n".encode()
        out += b"\r\n" + part.data + b"\r\n"
    out += f"--{mark}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={mark}"
