"""Pure pieces of video generation: the Sora and Veo wire translations and the credit hold."""
from __future__ import annotations

import pytest

from chalicelib.api.forms import form_fields
from chalicelib.billing import estimate
from chalicelib.billing.cost import Rate, charge, reservation
from chalicelib.errors import ApiError
from chalicelib.providers.base import Usage
from chalicelib.providers.gemini import veo
from chalicelib.providers.openai_compat import videos as sora


@pytest.mark.parametrize("body, form", [
    ({"prompt": "p"}, {"model": (None, "sora-2"), "prompt": (None, "p")}),
    ({"prompt": "p", "seconds": 8, "size": "1280x720"},
     {"model": (None, "sora-2"), "prompt": (None, "p"), "seconds": (None, "8"), "size": (None, "1280x720")}),
    ({"prompt": "p", "seconds": 4.0, "n": 2}, {"model": (None, "sora-2"), "prompt": (None, "p"), "seconds": (None, "4")}),
])
def test_sora_create_form(body, form):
    assert sora.create_form(body, "sora-2") == form


@pytest.mark.parametrize("job, state", [
    ({"status": "queued"}, "pending"), ({"status": "in_progress"}, "pending"), ({"status": "new_state"}, "pending"),
    ({"status": "completed"}, "completed"), ({"status": "failed"}, "failed"), ({}, "pending"),
])
def test_sora_job_state(job, state):
    assert sora.state(job) == state


@pytest.mark.parametrize("job, asked, seconds", [
    ({"seconds": "12"}, 8.0, 12.0), ({}, 8.0, 8.0), ({}, None, 4.0), ({"seconds": "n/a"}, None, 4.0),
])
def test_sora_seconds_made(job, asked, seconds):
    assert sora.seconds_of(job, asked) == seconds


def test_sora_ids_and_errors():
    assert sora.job_id({"id": "video_1"}) == "video_1"
    assert sora.job_id({"id": "../x/y"}) is None and sora.job_id({}) is None
    assert sora.error_of({"error": {"code": "moderation_blocked", "message": "no"}}) == ("no", "moderation_blocked")
    assert sora.error_of({}) == ("the job failed", None)


@pytest.mark.parametrize("size, parameters, out", [
    ("1280x720", {"aspectRatio": "16:9", "resolution": "720p"}, "1280x720"),
    ("720x1280", {"aspectRatio": "9:16", "resolution": "720p"}, "720x1280"),
    ("1920x1080", {"aspectRatio": "16:9", "resolution": "1080p"}, "1920x1080"),
    ("1024x1792", {"aspectRatio": "9:16", "resolution": "1080p"}, "1080x1920"),
])
def test_veo_sizes(size, parameters, out):
    assert veo.size_parameters(size) == parameters
    assert veo.output_size(parameters) == out


@pytest.mark.parametrize("size", ["1024x1024", "wide", "12x"])
def test_veo_refuses_sizes_it_cannot_make(size):
    with pytest.raises(ApiError) as refused:
        veo.size_parameters(size)
    assert refused.value.status == 400 and refused.value.param == "size"


def test_veo_request():
    assert veo.request({"prompt": "p"}, None) == {"instances": [{"prompt": "p"}], "parameters": {}}
    assert veo.request({"prompt": "p", "size": "1280x720", "n": 2, "negative_prompt": "rain"}, 8.0) == {
        "instances": [{"prompt": "p"}],
        "parameters": {"aspectRatio": "16:9", "resolution": "720p", "durationSeconds": 8, "sampleCount": 2,
                       "negativePrompt": "rain"}}


@pytest.mark.parametrize("operation, outcome", [
    ({"name": "models/veo/operations/1"}, None),
    ({"done": False}, None),
    ({"done": True, "error": {"code": 3, "message": "bad prompt"}}, ([], "bad prompt")),
    ({"done": True, "response": {"generateVideoResponse": {"generatedSamples": [
        {"video": {"uri": "https://a/1"}}, {"video": {"uri": "https://a/2"}}]}}}, (["https://a/1", "https://a/2"], None)),
    ({"done": True, "response": {"generateVideoResponse": {"raiMediaFilteredReasons": ["unsafe"]}}},
     ([], "filtered by the provider's safety system: unsafe")),
    ({"done": True, "response": {}}, ([], "the operation finished without a video")),
])
def test_veo_operation_outcome(operation, outcome):
    assert veo.outcome(operation) == outcome


@pytest.mark.parametrize("name, ok", [
    ("models/veo-3.0-generate-001/operations/abc", True), ("operations/abc", True),
    ("models/x/operations/../../files", False), ("models/../operations/x", False),
    ("https://evil/operations/1", False), (None, False),
])
def test_veo_operation_names_are_checked(name, ok):
    assert (veo.operation_name({"name": name}) is not None) is ok


@pytest.mark.parametrize("value, seconds", [("8", 8), (8, 8), (2.5, 3), (None, estimate.MAX_VIDEO_SECONDS),
                                            ("soon", estimate.MAX_VIDEO_SECONDS), (-4, estimate.MAX_VIDEO_SECONDS)])
def test_video_seconds_held(value, seconds):
    assert estimate.video_seconds(value) == seconds


def test_the_hold_covers_the_charge():
    rate = Rate("demo", "video", "video", input_rate=0, output_rate=0, second_rate=10_000_000)
    body = {"model": "demo/video", "prompt": "p", "seconds": "8", "n": 2}
    held = reservation(rate, "video", body)
    assert held == 2 * 8 * 10_000_000
    assert charge(rate, Usage(seconds=16)) == held


def test_form_fields_refuse_files_by_name():
    boundary = "XyZ"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nhello é\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"seconds\"\r\n\r\n4\r\n--{boundary}--\r\n").encode()
    assert form_fields(body, f"multipart/form-data; boundary={boundary}") == {"prompt": "hello é", "seconds": "4"}
    with_file = body.replace(b'name="seconds"', b'name="input_reference"; filename="a.png"')
    with pytest.raises(ApiError) as refused:
        form_fields(with_file, f"multipart/form-data; boundary={boundary}")
    assert refused.value.param == "input_reference"
