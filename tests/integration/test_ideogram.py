"""Ideogram through the real gateway: the openai SDK in front, a fake Ideogram on loopback behind."""
from __future__ import annotations

import base64

import openai
import pytest

from chalicelib.providers.ideogram.adapter import MAX_IMAGE_BYTES
from chalicelib.providers.ideogram.translate import WITHHELD_KEY
from tests.fakes.ideogram import (
    CREATED_UNIX,
    LEGACY_PATH,
    PNG,
    V3_PATH,
    form_fields,
    generate_response,
    image_object,
    serve_image,
)
from tests.integration.conftest import calls_of
from tests.support import openapi
from tests.support.gateway import UPSTREAM_KEYS

KEY = UPSTREAM_KEYS["IDEOGRAM_API_KEY"]
PROMPT = "a poster that reads OPEN LATE, neon on brick"


def sdk_error(status: int) -> type[openai.APIStatusError]:
    """The openai SDK's exception for a gateway status."""
    return {400: openai.BadRequestError, 422: openai.UnprocessableEntityError, 429: openai.RateLimitError,
            502: openai.InternalServerError}[status]


def _auth_sent(request) -> None:
    assert request.headers["api-key"] == KEY  # Ideogram's own header, no scheme
    assert "authorization" not in request.headers


@pytest.mark.parametrize("model", ["ideogram/ideogram-v3", "ideogram-v3"])
def test_v3_multipart_request_and_url_response(fake, client, admin, user, model):
    urls = [f"https://ideogram.ai/api/images/ephemeral/img{i}.png?exp=1&sig=abc" for i in range(2)]
    fake.route("POST", V3_PATH, json=generate_response(
        image_object(urls[0], PROMPT + ", glowing tubes", resolution="1344x768", style_type="REALISTIC"),
        image_object(urls[1], PROMPT + ", rainy night", resolution="1344x768", style_type="REALISTIC")))
    raw = client.images.with_raw_response.generate(model=model, prompt=PROMPT, n=2, size="1792x1024",
                                                   quality="hd", style="natural", response_format="url")
    result = raw.parse()

    (sent,) = fake.requests
    assert (sent.method, sent.path) == ("POST", V3_PATH)
    _auth_sent(sent)
    assert form_fields(sent) == {"prompt": PROMPT, "num_images": "2", "aspect_ratio": "16x9",
                                 "rendering_speed": "QUALITY", "style_type": "REALISTIC"}
    body = raw.http_response.json()
    openapi.validate("ImagesResponse", body)
    assert body == {"created": CREATED_UNIX, "data": [
        {"url": urls[0], "revised_prompt": PROMPT + ", glowing tubes"},
        {"url": urls[1], "revised_prompt": PROMPT + ", rainy night"}]}
    assert [d.url for d in result.data] == urls
    (call,) = calls_of(admin, user["account_id"])
    assert (call["type"], call["status"], call["provider"], call["model"]) == ("image", "success", "ideogram",
                                                                               "ideogram-v3")
    assert call["images"] == 2 and call["prompt_tokens"] == call["completion_tokens"] == 0
    assert call["request_id"] == raw.headers["x-request-id"]


def test_v3_native_fields_and_exact_resolution(fake, client):
    fake.route("POST", V3_PATH, json=generate_response(image_object("https://ideogram.ai/i.png", PROMPT)))
    client.images.generate(model="ideogram/ideogram-v3", prompt=PROMPT, size="1024x1024", quality="low",
                           extra_body={"negative_prompt": "blurry text", "seed": 7, "magic_prompt": "OFF",
                                       "style_type": "DESIGN"})
    assert form_fields(fake.requests[0]) == {
        "prompt": PROMPT, "num_images": "1", "resolution": "1024x1024", "rendering_speed": "TURBO",
        "negative_prompt": "blurry text", "seed": "7", "magic_prompt": "OFF", "style_type": "DESIGN"}


def test_legacy_model_json_request(fake, client, admin, user):
    url = "https://ideogram.ai/api/images/ephemeral/legacy.png"
    answer = generate_response(image_object(url, "magic: " + PROMPT, resolution="768x1232"))
    fake.route("POST", LEGACY_PATH, json=answer)
    raw = client.images.with_raw_response.generate(model="ideogram/V_2_TURBO", prompt=PROMPT, size="1024x1792",
                                                   style="natural", extra_body={"negative_prompt": "people"})
    (sent,) = fake.requests
    assert (sent.method, sent.path, sent.headers["content-type"]) == ("POST", LEGACY_PATH, "application/json")
    _auth_sent(sent)
    assert sent.json == {"image_request": {"prompt": PROMPT, "model": "V_2_TURBO", "num_images": 1,
                                           "aspect_ratio": "ASPECT_9_16", "style_type": "REALISTIC",
                                           "negative_prompt": "people"}}
    body = raw.http_response.json()
    openapi.validate("ImagesResponse", body)
    assert body["data"] == [{"url": url, "revised_prompt": "magic: " + PROMPT}]
    (call,) = calls_of(admin, user["account_id"])
    assert (call["model"], call["images"]) == ("V_2_TURBO", 1)


def test_b64_json_downloads_each_image_without_the_key(fake, client, admin, user):
    second = PNG[::-1]
    urls = [serve_image(fake, "first"), serve_image(fake, "second", second)]
    fake.route("POST", V3_PATH, json=generate_response(image_object(urls[0], "p1"), image_object(urls[1], "p2")))
    raw = client.images.with_raw_response.generate(model="ideogram/ideogram-v3", prompt=PROMPT, n=2,
                                                   response_format="b64_json")
    body = raw.http_response.json()
    openapi.validate("ImagesResponse", body)
    assert [base64.b64decode(d["b64_json"]) for d in body["data"]] == [PNG, second]
    assert [d["revised_prompt"] for d in body["data"]] == ["p1", "p2"]
    assert not any("url" in d for d in body["data"])
    downloads = [r for r in fake.requests if r.method == "GET"]
    assert sorted(r.path for r in downloads) == ["/api/images/ephemeral/first.png", "/api/images/ephemeral/second.png"]
    assert all("sig=" in r.query for r in downloads)  # the pre-signed URL is used as given
    assert not any("api-key" in r.headers or "authorization" in r.headers for r in downloads)
    assert calls_of(admin, user["account_id"])[0]["images"] == 2


def test_b64_json_download_failure_is_a_502(fake, client, admin, user):
    url = fake.url("/api/images/ephemeral/gone.png") + "?sig=secret-signature"
    fake.route("GET", "/api/images/ephemeral/gone.png", status=404, body="expired")
    fake.route("POST", V3_PATH, json=generate_response(image_object(url, "p")))
    with pytest.raises(sdk_error(502)) as caught:
        client.images.generate(model="ideogram/ideogram-v3", prompt=PROMPT, response_format="b64_json")
    assert caught.value.code == "upstream_bad_response"
    assert "secret-signature" not in caught.value.response.text
    assert calls_of(admin, user["account_id"])[0]["status"] == "failed"


def test_unsafe_images_are_withheld_and_not_charged(fake, client, admin, user):
    url = "https://ideogram.ai/api/images/ephemeral/ok.png"
    fake.route("POST", V3_PATH, json=generate_response(image_object(url, "p"), image_object(None, "p", safe=False)))
    raw = client.images.with_raw_response.generate(model="ideogram/ideogram-v3", prompt=PROMPT, n=2)
    body = raw.http_response.json()
    openapi.validate("ImagesResponse", body)
    assert body["data"] == [{"url": url, "revised_prompt": "p"}] and body[WITHHELD_KEY] == 1
    assert calls_of(admin, user["account_id"])[0]["images"] == 1


def test_all_images_unsafe_is_a_400(fake, client, admin, user):
    fake.route("POST", V3_PATH, json=generate_response(image_object(None, "p", safe=False)))
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="ideogram/ideogram-v3", prompt=PROMPT)
    assert caught.value.code == "content_policy_violation"
    (call,) = calls_of(admin, user["account_id"])
    assert (call["status"], call["images"], call["error_code"]) == ("failed", 0, "content_policy_violation")


@pytest.mark.parametrize(
    ("status", "upstream", "client_status", "says"),
    [
        (422, {"error": "Prompt or provided image failed the safety checks"}, 422, "failed the safety checks"),
        (400, {"error": f"Invalid input: num_images must be at most 8 (key {KEY})"}, 400,
         "num_images must be at most 8"),
        (429, {"error": "Too many in-flight requests"}, 429, "Too many in-flight requests"),
        (401, {"error": f"Not authorized: bad Api-Key {KEY}"}, 502, "rejected the gateway's credential"),
        (403, {"error": "Forbidden"}, 502, "rejected the gateway's credential"),
    ],
)
def test_errors_pass_through_without_the_key(fake, gateway, client, admin, user, status, upstream, client_status, says):
    fake.route("POST", V3_PATH, status=status, json=upstream)
    with pytest.raises(sdk_error(client_status)) as caught:
        client.images.generate(model="ideogram/ideogram-v3", prompt=PROMPT)
    error = caught.value
    assert error.status_code == client_status
    assert says in error.message
    assert KEY not in error.response.text and KEY not in gateway.log()
    (call,) = calls_of(admin, user["account_id"])
    assert (call["status"], call["http_status"], call["provider"]) == ("failed", client_status, "ideogram")
    assert KEY not in (call["error"] or "")


def test_chat_and_embeddings_on_ideogram_are_400(fake, client, admin, user):
    with pytest.raises(openai.BadRequestError) as chat:
        client.chat.completions.create(model="ideogram/ideogram-v3", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError) as stream:
        client.chat.completions.create(model="ideogram/ideogram-v3", messages=[{"role": "user", "content": "hi"}],
                                       stream=True)
    with pytest.raises(openai.BadRequestError) as embed:
        client.embeddings.create(model="ideogram/ideogram-v3", input="hi")
    for caught in (chat, stream, embed):
        assert caught.value.code == "unsupported_operation"
        assert "only generates images" in caught.value.message
    assert fake.requests == []  # nothing reached Ideogram
    assert [c["status"] for c in calls_of(admin, user["account_id"])] == ["failed"] * 3


def test_unknown_ideogram_model_is_a_404(fake, client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.images.generate(model="ideogram/dall-e-3", prompt=PROMPT)
    assert caught.value.code == "model_not_found"
    assert fake.requests == []


def test_b64_json_image_over_the_size_bound_is_a_502(fake, client):
    url = serve_image(fake, "huge", b"\0" * (MAX_IMAGE_BYTES + 1))
    fake.route("POST", V3_PATH, json=generate_response(image_object(url, "p")))
    with pytest.raises(openai.InternalServerError) as caught:
        client.images.generate(model="ideogram/ideogram-v3", prompt=PROMPT, response_format="b64_json")
    assert caught.value.code == "upstream_bad_response" and "larger than 16 MiB" in caught.value.message


def test_unparseable_answer_is_a_502(fake, client):
    fake.route("POST", V3_PATH, fault="bad_json")
    with pytest.raises(openai.InternalServerError) as caught:
        client.images.generate(model="ideogram/ideogram-v3", prompt=PROMPT)
    assert caught.value.code == "upstream_bad_response"
