"""The multipart/form-data parser and encoder of the audio routes, against independent
implementations: httpx encodes what is parsed, the standard library's MIME parser reads what
is encoded."""
from __future__ import annotations

import email.parser
import email.policy
import os

import httpx
import pytest

from chalicelib.api import multipart
from chalicelib.api.multipart import Part
from chalicelib.errors import ApiError

# A payload that holds what a naive parser trips on: CRLFs, dashes, a fake delimiter line.
TRICKY = b"\r\n--\r\n--boundary\r\n\r\n" + bytes(range(256)) + os.urandom(4096) + b"\r\n"


def _httpx_form(data: dict, files: dict) -> tuple[bytes, str]:
    request = httpx.Request("POST", "http://x", data=data, files=files)
    return request.read(), request.headers["content-type"]


@pytest.mark.parametrize("data, files, expected", [
    ({"model": "whisper-1"}, {"file": ("a.wav", b"RIFF", "audio/wav")},
     [Part("model", b"whisper-1"), Part("file", b"RIFF", "a.wav", "audio/wav")]),
    ({"timestamp_granularities[]": ["word", "segment"]}, {"file": ("x.mp3", TRICKY, "audio/mpeg")},
     [Part("timestamp_granularities[]", b"word"), Part("timestamp_granularities[]", b"segment"),
      Part("file", TRICKY, "x.mp3", "audio/mpeg")]),
    ({"prompt": "Zoë; \"quoted\"\r\nnext line"}, {"file": ("we;ird \"name\".ogg", b"", "audio/ogg")},
     [Part("prompt", "Zoë; \"quoted\"\r\nnext line".encode()), Part("file", b"", 'we;ird %22name%22.ogg', "audio/ogg")]),
    ({}, {"file": ("empty.wav", b"", "application/octet-stream")},
     [Part("file", b"", "empty.wav", "application/octet-stream")]),
])
def test_parses_what_httpx_encodes(data, files, expected):
    body, content_type = _httpx_form(data, files)
    assert multipart.parse(body, content_type) == expected


def test_preamble_epilogue_and_transport_padding():
    body = (b"preamble to ignore\r\n--b  \r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1"
            b"\r\n--b--\r\nepilogue")
    assert multipart.parse(body, 'multipart/form-data; boundary="b"') == [Part("model", b"whisper-1")]


@pytest.mark.parametrize("body, content_type, why", [
    (b"--b\r\n\r\nx\r\n--b--", "application/json", "invalid_content_type"),
    (b"--b\r\n\r\nx\r\n--b--", "multipart/form-data", "invalid_content_type"),  # no boundary
    (b"nothing here", "multipart/form-data; boundary=b", "invalid_multipart"),
    (b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated", "multipart/form-data; boundary=b",
     "invalid_multipart"),
    (b"--b\r\nContent-Disposition: form-data; name=\"a\"", "multipart/form-data; boundary=b", "invalid_multipart"),
    (b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--", "multipart/form-data; boundary=b", "invalid_multipart"),
    (b"--b", "multipart/form-data; boundary=b", "invalid_multipart"),
    (b"x--b\r\n\r\n", "multipart/form-data; boundary=b", "invalid_multipart"),  # no CRLF before the delimiter
])
def test_malformed_bodies_are_400s(body, content_type, why):
    with pytest.raises(ApiError) as caught:
        multipart.parse(body, content_type)
    assert (caught.value.status, caught.value.code) == (400, why)


def test_encoded_form_reads_back_byte_for_byte_with_the_stdlib_parser():
    parts = [Part("model", b"gpt-4o-transcribe"), Part("include[]", b"logprobs"),
             Part("file", TRICKY, 'my "clip".wav', "audio/wav"), Part("prompt", "naïve".encode())]
    body, content_type = multipart.encode(parts)
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    read = [(p.get_param("name", header="content-disposition"), p.get_filename(), p.get_payload(decode=True))
            for p in message.iter_parts()]
    assert read == [("model", None, b"gpt-4o-transcribe"), ("include[]", None, b"logprobs"),
                    ("file", "my %22clip%22.wav", TRICKY), ("prompt", None, "naïve".encode())]
    assert multipart.parse(body, content_type) == [parts[0], parts[1], Part("file", TRICKY, "my %22clip%22.wav",
                                                                           "audio/wav"), parts[3]]


def test_each_encoding_has_its_own_boundary():
    first, second = multipart.encode([Part("a", b"1")]), multipart.encode([Part("a", b"1")])
    assert first[1] != second[1]
