from __future__ import annotations

import pytest

from chalicelib.api.openai import ChatCompletionRequest, EmbeddingRequest, ImageRequest
from chalicelib.api.validation import json_body, validate
from chalicelib.billing.units import from_minor, to_minor
from chalicelib.errors import ApiError


@pytest.mark.parametrize(
    ("credits", "minor"),
    [(0, 0), (1, 10**9), (0.1, 100_000_000), ("12.5", 12_500_000_000), (0.000000001, 1), (1.5e-9, 2)],
)
def test_to_minor_is_exact(credits, minor):
    assert to_minor(credits) == minor


@pytest.mark.parametrize(("minor", "credits"), [(0, 0), (10**9, 1), (1, 1e-9), (12_500_000_000, 12.5)])
def test_from_minor(minor, credits):
    assert from_minor(minor) == credits


@pytest.mark.parametrize("bad", ["nan", "inf", "abc", 1e-10, "-4e-10"])
def test_to_minor_rejects(bad):
    with pytest.raises(ValueError):
        to_minor(bad)


@pytest.mark.parametrize(
    ("raw", "code"),
    [(b"", "invalid_json"), (b"{", "invalid_json"), (b"[1]", "invalid_json"), (b"null", "invalid_json")],
)
def test_json_body_errors(raw, code):
    with pytest.raises(ApiError) as info:
        json_body(raw)
    assert info.value.status == 400 and info.value.code == code


OK_MSG = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("model", "body", "param"),
    [
        (ChatCompletionRequest, {"messages": OK_MSG}, "model"),
        (ChatCompletionRequest, {"model": "m", "messages": []}, "messages"),
        (ChatCompletionRequest, {"model": "m"}, "messages"),
        (ChatCompletionRequest, {"model": "m", "messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        (ChatCompletionRequest, {"model": "m", "messages": [{"role": "user", "content": None}]}, "messages[0]"),
        (ChatCompletionRequest, {"model": "m", "messages": OK_MSG, "temperature": 3}, "temperature"),
        (ChatCompletionRequest, {"model": "m", "messages": OK_MSG, "n": 0}, "n"),
        (ChatCompletionRequest, {"model": "m", "messages": OK_MSG, "stream": "yes"}, "stream"),
        (EmbeddingRequest, {"model": "m", "input": []}, None),
        (EmbeddingRequest, {"model": "m", "input": "x", "dimensions": -1}, "dimensions"),
        (EmbeddingRequest, {"model": "m", "input": "x", "encoding_format": "hex"}, "encoding_format"),
        (ImageRequest, {"model": "m", "prompt": ""}, "prompt"),
        (ImageRequest, {"model": "m", "prompt": "p", "response_format": "gif"}, "response_format"),
    ],
)
def test_validation_names_the_field(model, body, param):
    with pytest.raises(ApiError) as info:
        validate(model, body)
    assert info.value.status == 400
    assert info.value.param == param
    if param:
        assert param in info.value.message


def test_validation_passes_unknown_fields():
    parsed = validate(ChatCompletionRequest, {"model": "m", "messages": OK_MSG, "logprobs": True, "seed": 1,
                                              "tools": [{"type": "function", "function": {"name": "f"}}]})
    assert parsed.model == "m"
