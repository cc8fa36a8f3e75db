"""Table-driven tests of the Ideogram translation (pure functions, no I/O)."""
from __future__ import annotations

import time

import orjson
import pytest

from chalicelib.errors import ApiError
from chalicelib.providers.base import UpstreamError
from chalicelib.providers.ideogram import translate
from chalicelib.providers.ideogram.translate import Generated, UpstreamRequest
from tests.fakes.ideogram import CREATED, CREATED_UNIX, generate_response, image_object


@pytest.mark.parametrize(
    ("size", "v3", "legacy"),
    [
        (None, {}, {}),
        ("auto", {}, {}),
        # exact Ideogram 3.0 resolutions are kept, in both orientations
        ("1024x1024", {"resolution": "1024x1024"}, {"aspect_ratio": "ASPECT_1_1"}),
        ("1280x800", {"resolution": "1280x800"}, {"aspect_ratio": "ASPECT_16_10"}),
        ("800x1280", {"resolution": "800x1280"}, {"aspect_ratio": "ASPECT_10_16"}),
        ("1536x512", {"resolution": "1536x512"}, {"aspect_ratio": "ASPECT_3_1"}),
        # OpenAI's sizes that Ideogram lacks -> nearest ratio
        ("256x256", {"aspect_ratio": "1x1"}, {"aspect_ratio": "ASPECT_1_1"}),
        ("512x512", {"aspect_ratio": "1x1"}, {"aspect_ratio": "ASPECT_1_1"}),
        ("1792x1024", {"aspect_ratio": "16x9"}, {"aspect_ratio": "ASPECT_16_9"}),
        ("1024x1792", {"aspect_ratio": "9x16"}, {"aspect_ratio": "ASPECT_9_16"}),
        ("1536x1024", {"aspect_ratio": "3x2"}, {"aspect_ratio": "ASPECT_3_2"}),
        ("1024x1536", {"aspect_ratio": "2x3"}, {"aspect_ratio": "ASPECT_2_3"}),
        ("2048x1024", {"aspect_ratio": "2x1"}, {"aspect_ratio": "ASPECT_16_9"}),  # legacy has no 2:1
        ("1280x1024", {"aspect_ratio": "5x4"}, {"aspect_ratio": "ASPECT_4_3"}),  # nor 5:4
        ("4000x1000", {"aspect_ratio": "3x1"}, {"aspect_ratio": "ASPECT_3_1"}),
        ("1024X768", {"aspect_ratio": "4x3"}, {"aspect_ratio": "ASPECT_4_3"}),
    ],
)
def test_size_mapping(size, v3, legacy):
    assert translate.v3_size(size) == v3
    assert translate.legacy_size(size) == legacy


@pytest.mark.parametrize("size", ["big", "1024", "1024x", "x1024", "0x1024", "1024x-5", "10.5x20"])
def test_bad_size_is_a_400(size):
    with pytest.raises(ApiError) as caught:
        translate.v3_size(size)
    assert (caught.value.status, caught.value.param, caught.value.code) == (400, "size", "invalid_value")


def test_resolution_table():
    assert len(translate.V3_RESOLUTIONS) == 69  # as many as Ideogram 3.0's enum
    assert all(f"{h}x{w}" in translate.V3_RESOLUTIONS for w, h in (r.split("x") for r in translate.V3_RESOLUTIONS))


@pytest.mark.parametrize(
    ("quality", "speed"),
    [(None, None), ("auto", None), ("low", "TURBO"), ("medium", "DEFAULT"), ("standard", "DEFAULT"),
     ("high", "QUALITY"), ("hd", "QUALITY"), ("xhigh", "QUALITY"), ("max", "QUALITY"), ("turbo", "TURBO"),
     ("flash", "FLASH")],
)
def test_quality_to_rendering_speed(quality, speed):
    assert translate.rendering_speed(quality) == speed


@pytest.mark.parametrize(
    ("style", "style_type"),
    [(None, None), ("vivid", None), ("natural", "REALISTIC"), ("design", "DESIGN"), ("FICTION", "FICTION")],
)
def test_style_to_style_type(style, style_type):
    assert translate.style_type(style) == style_type


PROMPT = "a lighthouse at dawn"


@pytest.mark.parametrize(
    ("model", "body", "expected"),
    [
        ("ideogram-v3", {"prompt": PROMPT},
         UpstreamRequest("/v1/ideogram-v3/generate", form={"prompt": PROMPT, "num_images": "1"})),
        ("ideogram-v3", {"prompt": PROMPT, "n": 3, "size": "1792x1024", "quality": "hd", "style": "natural",
                         "response_format": "b64_json", "user": "u-1"},
         UpstreamRequest("/v1/ideogram-v3/generate", form={
             "prompt": PROMPT, "num_images": "3", "aspect_ratio": "16x9", "rendering_speed": "QUALITY",
             "style_type": "REALISTIC"})),
        # Ideogram's own fields win; aspect_ratio or resolution replaces the mapped size
        ("ideogram-v3", {"prompt": PROMPT, "size": "1024x1024", "quality": "low", "aspect_ratio": "4x5",
                         "rendering_speed": "DEFAULT", "seed": 42, "negative_prompt": "fog", "magic_prompt": "OFF"},
         UpstreamRequest("/v1/ideogram-v3/generate", form={
             "prompt": PROMPT, "num_images": "1", "aspect_ratio": "4x5", "rendering_speed": "DEFAULT", "seed": "42",
             "negative_prompt": "fog", "magic_prompt": "OFF"})),
        ("Ideogram-V3-Turbo", {"prompt": PROMPT, "size": "1536x1024", "resolution": "1248x832",
                               "magic_prompt_option": "ON"},
         UpstreamRequest("/v1/ideogram-v3/generate", form={
             "prompt": PROMPT, "num_images": "1", "resolution": "1248x832", "magic_prompt": "ON"})),
        ("V_2", {"prompt": PROMPT},
         UpstreamRequest("/generate", json={"image_request": {"prompt": PROMPT, "model": "V_2", "num_images": 1}})),
        # legacy: quality is the model id's business (V_2_TURBO), so it is dropped
        ("V_2_TURBO", {"prompt": PROMPT, "n": 2, "size": "1024x1792", "quality": "hd", "style": "natural"},
         UpstreamRequest("/generate", json={"image_request": {
             "prompt": PROMPT, "model": "V_2_TURBO", "num_images": 2, "aspect_ratio": "ASPECT_9_16",
             "style_type": "REALISTIC"}})),
        ("V_2A", {"prompt": PROMPT, "size": "1024x1024", "resolution": "RESOLUTION_1024_1024", "seed": 7,
                  "magic_prompt": "OFF", "negative_prompt": "text", "color_palette": {"name": "EMBER"}},
         UpstreamRequest("/generate", json={"image_request": {
             "prompt": PROMPT, "model": "V_2A", "num_images": 1, "resolution": "RESOLUTION_1024_1024", "seed": 7,
             "negative_prompt": "text", "color_palette": {"name": "EMBER"}, "magic_prompt_option": "OFF"}})),
    ],
)
def test_build_request(model, body, expected):
    before = orjson.dumps(body)
    assert translate.build_request(body, model) == expected
    assert orjson.dumps(body) == before  # the client's dict is not mutated


def test_unknown_model_is_a_404():
    with pytest.raises(ApiError) as caught:
        translate.build_request({"prompt": PROMPT}, "dall-e-3")
    assert (caught.value.status, caught.value.code) == (404, "model_not_found")


URL1, URL2 = "https://ideogram.ai/api/images/ephemeral/a.png?sig=1", "https://ideogram.ai/api/images/ephemeral/b.png"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (generate_response(image_object(URL1, "a lighthouse at dawn, golden light")),
         Generated(CREATED_UNIX, [{"url": URL1, "revised_prompt": "a lighthouse at dawn, golden light"}], 0)),
        (generate_response(image_object(URL1, "p1"), image_object(URL2, "p2")),
         Generated(CREATED_UNIX, [{"url": URL1, "revised_prompt": "p1"}, {"url": URL2, "revised_prompt": "p2"}], 0)),
        # unsafe images (no URL) are withheld and counted
        (generate_response(image_object(URL1, "p1"), image_object(URL2, "p2", safe=False)),
         Generated(CREATED_UNIX, [{"url": URL1, "revised_prompt": "p1"}], 1)),
        # flagged unsafe although a URL came: still withheld
        ({"created": CREATED, "data": [{"url": URL1, "prompt": "p", "is_image_safe": False},
                                       {"url": URL2, "is_image_safe": True}]},
         Generated(CREATED_UNIX, [{"url": URL2}], 1)),
        # created as Unix seconds, or as an ISO datetime with nanoseconds and an offset
        ({"created": 1700000000, "data": [{"url": URL1}]}, Generated(1700000000, [{"url": URL1}], 0)),
        ({"created": "2025-08-27T18:23:28.806107195+08:00", "data": [{"url": URL1}]},
         Generated(1756290208, [{"url": URL1}], 0)),
        ({"created": "2025-04-05T10:20:30Z", "data": [{"url": URL1}]}, Generated(CREATED_UNIX, [{"url": URL1}], 0)),
        ({"created": "2025-04-05T10:20:30", "data": [{"url": URL1}]}, Generated(CREATED_UNIX, [{"url": URL1}], 0)),
    ],
)
def test_parse_response(raw, expected):
    assert translate.parse_response(orjson.dumps(raw), "ideogram") == expected


def test_unparseable_created_falls_back_to_now():
    generated = translate.parse_response(orjson.dumps({"created": "yesterday", "data": [{"url": URL1}]}), "ideogram")
    assert abs(generated.created - time.time()) < 5


def test_every_image_unsafe_is_a_content_policy_400():
    raw = generate_response(image_object(URL1, "p", safe=False), image_object(URL2, "p", safe=False))
    with pytest.raises(UpstreamError) as caught:
        translate.parse_response(orjson.dumps(raw), "ideogram")
    assert (caught.value.status, caught.value.code, caught.value.param) == (400, "content_policy_violation", "prompt")
    assert "2" in caught.value.message


@pytest.mark.parametrize("content", [b"<html>", b"[]", b'{"data": null}', b'{"created": 1, "data": []}'])
def test_bad_response_is_a_502(content):
    with pytest.raises(UpstreamError) as caught:
        translate.parse_response(content, "ideogram")
    assert (caught.value.status, caught.value.code) == (502, "upstream_bad_response")


@pytest.mark.parametrize(
    ("generated", "b64", "expected"),
    [
        (Generated(5, [{"url": URL1, "revised_prompt": "p1"}], 0), None,
         {"created": 5, "data": [{"url": URL1, "revised_prompt": "p1"}]}),
        (Generated(5, [{"url": URL1, "revised_prompt": "p1"}, {"url": URL2}], 0), ["QUJD", "REVG"],
         {"created": 5, "data": [{"b64_json": "QUJD", "revised_prompt": "p1"}, {"b64_json": "REVG"}]}),
        (Generated(5, [{"url": URL1}], 2), None,
         {"created": 5, "data": [{"url": URL1}], translate.WITHHELD_KEY: 2}),
    ],
)
def test_openai_body(generated, b64, expected):
    assert translate.openai_body(generated, b64) == expected


@pytest.mark.parametrize(("body", "expected"), [({}, False), ({"response_format": "url"}, False),
                                                 ({"response_format": "b64_json"}, True)])
def test_wants_b64(body, expected):
    assert translate.wants_b64(body) is expected

