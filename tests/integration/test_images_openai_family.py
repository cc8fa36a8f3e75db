"""Image generation on OpenAI-dialect providers (OpenAI dall-e-3 and gpt-image-1, Doubao Seedream):
the OpenAI-compatible adapter passes /images/generations through with the provider's model id.

Responses follow OpenAI's API reference (images/create) and Volcengine Ark's for Seedream 3.0.
"""
from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.fakes.upstream import FakeUpstream
from tests.integration.conftest import calls_of
from tests.support import openapi
from tests.support.gateway import (
    UPSTREAM_KEYS,
    Gateway,
    create_key,
    start_gateway,
    upstream_env,
)

PROMPT = "a watercolor fox reading a newspaper"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def test_dall_e_3_url_with_revised_prompt(fake, client, admin, user):
    url = "https://oaidalleapiprodscus.blob.core.windows.net/private/img-abc.png?st=2025&sig=xyz"
    revised = "A watercolor painting of a red fox in a tweed jacket, reading a folded newspaper."
    fake.route("POST", "/v1/images/generations",
               json={"created": 1713833628, "data": [{"url": url, "revised_prompt": revised}]})
    raw = client.images.with_raw_response.generate(model="openai/dall-e-3", prompt=PROMPT, size="1024x1792",
                                                   quality="hd", style="vivid", response_format="url")
    result = raw.parse()

    (sent,) = fake.requests
    assert sent.path == "/v1/images/generations"
    assert sent.headers["authorization"] == "Bearer " + UPSTREAM_KEYS["OPENAI_API_KEY"]
    assert sent.json == {"model": "dall-e-3", "prompt": PROMPT, "size": "1024x1792", "quality": "hd",
                         "style": "vivid", "response_format": "url"}
    body = raw.http_response.json()
    openapi.validate("ImagesResponse", body)
    assert (result.data[0].url, result.data[0].revised_prompt) == (url, revised)
    (call,) = calls_of(admin, user["account_id"])
    assert (call["type"], call["status"], call["provider"], call["model"]) == ("image", "success", "openai", "dall-e-3")
    assert call["images"] == 1 and call["prompt_tokens"] == call["completion_tokens"] == 0
    assert call["request_id"] == raw.headers["x-request-id"]


def test_gpt_image_1_b64_with_token_usage(fake, client, admin, user):
    images = [base64.b64encode(PNG).decode(), base64.b64encode(PNG[::-1]).decode()]
    usage = {"total_tokens": 8370, "input_tokens": 50, "output_tokens": 8320,
             "input_tokens_details": {"text_tokens": 50, "image_tokens": 0}}
    fake.route("POST", "/v1/images/generations", json={
        "created": 1713833628, "data": [{"b64_json": b} for b in images], "background": "opaque",
        "output_format": "png", "size": "1024x1024", "quality": "high", "usage": usage})
    raw = client.images.with_raw_response.generate(model="openai/gpt-image-1", prompt=PROMPT, n=2, size="1024x1024",
                                                   quality="high")
    result = raw.parse()

    assert fake.requests[0].json == {"model": "gpt-image-1", "prompt": PROMPT, "n": 2, "size": "1024x1024",
                                     "quality": "high"}
    body = raw.http_response.json()
    openapi.validate("ImagesResponse", body)
    assert [base64.b64decode(d.b64_json) for d in result.data] == [PNG, PNG[::-1]]
    assert body["usage"] == usage  # the client sees OpenAI's usage as OpenAI sent it
    (call,) = calls_of(admin, user["account_id"])
    assert (call["type"], call["model"], call["images"]) == ("image", "gpt-image-1", 2)
    assert (call["prompt_tokens"], call["completion_tokens"], call["cache_read_tokens"]) == (50, 8320, 0)


def test_openai_safety_rejection_passes_through(fake, client, admin, user):
    message = "Your request was rejected as a result of our safety system."
    fake.route("POST", "/v1/images/generations", status=400, json={"error": {
        "code": "content_policy_violation", "message": message, "param": None, "type": "invalid_request_error"}})
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="openai/dall-e-3", prompt=PROMPT)
    assert caught.value.body == {"code": "content_policy_violation", "message": message, "param": None,
                                 "type": "invalid_request_error"}
    (call,) = calls_of(admin, user["account_id"])
    assert (call["status"], call["images"]) == ("failed", 0)


# -- Doubao Seedream: its own gateway, since the session one has no Doubao credential ----------

DOUBAO_KEY = "doubao-test-SECRET-0123456789"
SEEDREAM = "doubao-seedream-3-0-t2i-250415"
SEEDREAM_URL = ("https://ark-content-generation-cn-beijing.tos-cn-beijing.volces.com/doubao-seedream-3-0/"
                "021756717672.jpeg?X-Tos-Algorithm=TOS4-HMAC-SHA256&X-Tos-Signature=abc")
# Ark's answer for Seedream 3.0: per-image usage, no input tokens.
SEEDREAM_RESPONSE = {"model": SEEDREAM, "created": 1756717672, "data": [{"url": SEEDREAM_URL}],
                     "usage": {"generated_images": 1, "output_tokens": 4096, "total_tokens": 4096}}


@pytest.fixture(scope="module")
def doubao_gateway(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = {**upstream_env(fake.base_url), "DOUBAO_API_KEY": DOUBAO_KEY, "DOUBAO_BASE_URL": fake.base_url + "/api/v3"}
    gw = start_gateway(tmp_path_factory.mktemp("doubao-gateway"), env)
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def doubao_admin(doubao_gateway: Gateway) -> Iterator[httpx.Client]:
    with doubao_gateway.admin() as c:
        yield c


@pytest.fixture
def doubao_user(doubao_admin: httpx.Client) -> dict:
    return create_key(doubao_admin, name="doubao images", credits=5)


@pytest.fixture
def doubao_client(doubao_gateway: Gateway, doubao_user: dict) -> openai.OpenAI:
    return doubao_gateway.openai(doubao_user["key"])


def _seedream(fake: FakeUpstream, doubao_client: openai.OpenAI) -> httpx.Response:
    fake.route("POST", "/api/v3/images/generations", json=SEEDREAM_RESPONSE)
    raw = doubao_client.images.with_raw_response.generate(
        model="doubao/" + SEEDREAM, prompt=PROMPT, size="1024x1024", response_format="url",
        extra_body={"seed": 12, "guidance_scale": 2.5, "watermark": False})
    return raw.http_response


def test_doubao_seedream_through_the_compat_adapter(fake, doubao_client, doubao_admin, doubao_user):
    response = _seedream(fake, doubao_client)

    (sent,) = fake.requests
    assert sent.path == "/api/v3/images/generations"
    assert sent.headers["authorization"] == "Bearer " + DOUBAO_KEY
    assert sent.json == {"model": SEEDREAM, "prompt": PROMPT, "size": "1024x1024", "response_format": "url",
                         "seed": 12, "guidance_scale": 2.5, "watermark": False}
    body = response.json()
    assert (body["created"], body["data"]) == (1756717672, [{"url": SEEDREAM_URL}])
    (call,) = calls_of(doubao_admin, doubao_user["account_id"])
    assert (call["type"], call["status"], call["provider"], call["model"]) == ("image", "success", "doubao", SEEDREAM)
    assert call["images"] == 1
    assert (call["prompt_tokens"], call["completion_tokens"]) == (0, 4096)  # Ark's output_tokens, as reported


def test_doubao_seedream_response_matches_openai_schema(fake, doubao_client):
    openapi.validate("ImagesResponse", _seedream(fake, doubao_client).json())
