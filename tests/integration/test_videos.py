"""Video generation end to end: the openai SDK's `client.videos` against the real gateway, the
offline demo model, and fake Sora and Veo upstreams on loopback; billing per second, one call
record per video, jobs owned by accounts, and hosted files behind signed expiring URLs."""
from __future__ import annotations

import os
import secrets
import struct
import time
import warnings
from collections.abc import Iterator
from decimal import Decimal

import httpx
import openai
import pytest

from chalicelib.blobs import signing
from tests.fakes import videos as fv
from tests.fakes.ideogram import form_fields
from tests.fakes.upstream import FakeUpstream
from tests.integration.conftest import calls_of
from tests.support import openapi
from tests.support.gateway import TEST_SECRET, UPSTREAM_KEYS, Gateway, create_key, start_gateway, upstream_env

# The SDK marks the Videos API deprecated (Sora's shutdown date); it still speaks it.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SECOND_RATES = {("demo", "video"): "0.01", ("openai", "sora-2"): "0.1", ("google", "veo-3.0-generate-001"): "0.4"}
VIDEO_TIMEOUT_S = 3
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64  # what a fake provider hands back


@pytest.fixture(scope="module")
def gw(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = {**upstream_env(fake.base_url), "AIHUB_BILLING": "on", "AIHUB_VIDEO_POLL_S": "0.05",
           "AIHUB_VIDEO_TIMEOUT": str(VIDEO_TIMEOUT_S)}
    gateway = start_gateway(tmp_path_factory.mktemp("videos"), env)
    with gateway.admin() as api:
        for (provider, model), rate in SECOND_RATES.items():
            body = {"provider": provider, "model": model, "type": "video", "second_rate": float(rate)}
            assert api.post("/admin/model-rates", json=body).status_code == 201
    yield gateway
    gateway.stop()


@pytest.fixture
def client(gw: Gateway, key: dict) -> openai.OpenAI:
    return gw.openai(key["key"])


def balance(gw: Gateway, key: dict) -> Decimal:
    answer = httpx.get(gw.url + "/v1/credits", headers={"authorization": f"Bearer {key['key']}"})
    return Decimal(str(answer.json()["balance"]))


def finished(client: openai.OpenAI, video_id: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return client.videos.poll(video_id, poll_interval_ms=50)


def mp4_duration_s(data: bytes) -> float:
    """The movie header's duration over its timescale (ISO BMFF: moov > mvhd, version 0)."""
    at = 0
    while at < len(data):
        size, kind = struct.unpack_from(">I4s", data, at)
        if kind == b"moov":
            assert data[at + 12:at + 16] == b"mvhd"
            timescale, duration = struct.unpack_from(">II", data, at + 28)
            return duration / timescale
        at += size
    raise AssertionError("no moov box")


def test_demo_video_offline_through_the_sdk(gw, client, api, key):
    before = balance(gw, key)
    raw = client.videos.with_raw_response.create(model="demo/video", prompt="a red ball bouncing", seconds="8")
    job = raw.parse()
    assert job.object == "video" and job.status in ("queued", "in_progress") and job.id.startswith("video_")
    done = finished(client, job.id)
    assert (done.status, done.seconds, done.progress, done.error) == ("completed", "8", 100, None)
    assert done.expires_at > done.completed_at >= done.created_at
    data = client.videos.download_content(job.id).read()
    assert data[4:8] == b"ftyp" and mp4_duration_s(data) == 8.0

    (call,) = calls_of(api, key["account_id"])
    assert (call["type"], call["status"], call["provider"], call["model"]) == ("video", "success", "demo", "video")
    assert call["request_id"] == raw.headers["x-request-id"]  # the job's call is the create's request
    assert call["seconds"] == 8
    assert Decimal(str(call["credits"])) == 8 * Decimal("0.01")
    assert before - balance(gw, key) == 8 * Decimal("0.01")


def test_sora_create_poll_download(gw, fake, client, api, key):
    fv.install_sora(fake, "video_sora123", MP4, seconds="8", size="1280x720")
    before = balance(gw, key)
    raw = client.videos.with_raw_response.create(model="openai/sora-2", prompt="a calm lake at dawn", seconds="8",
                                                 size="1280x720")
    job = raw.parse()
    openapi.validate("VideoResource", raw.http_response.json())
    done = finished(client, job.id)
    assert (done.status, done.seconds, done.size) == ("completed", "8", "1280x720")
    openapi.validate("VideoResource", client.videos.with_raw_response.retrieve(job.id).http_response.json())
    assert job.id != "video_sora123"  # the gateway's own job id, never the provider's
    assert client.videos.download_content(job.id).read() == MP4

    create, *polls, content = [r for r in fake.requests]
    assert (create.method, create.path) == ("POST", "/v1/videos")
    assert form_fields(create) == {"model": "sora-2", "prompt": "a calm lake at dawn", "seconds": "8",
                                   "size": "1280x720"}
    assert [(r.method, r.path) for r in polls] == [("GET", "/v1/videos/video_sora123")] * 2
    assert (content.method, content.path) == ("GET", "/v1/videos/video_sora123/content")
    assert {r.headers["authorization"] for r in fake.requests} == {"Bearer " + UPSTREAM_KEYS["OPENAI_API_KEY"]}

    (call,) = calls_of(api, key["account_id"])
    assert (call["provider"], call["model"], call["seconds"], call["status"]) == ("openai", "sora-2", 8, "success")
    assert Decimal(str(call["credits"])) == before - balance(gw, key) == 8 * Decimal("0.1")


def test_sora_failed_job_costs_nothing(gw, fake, client, api, key):
    fv.install_sora(fake, "video_bad", MP4, fail={"code": "moderation_blocked", "message": "blocked by moderation"})
    before = balance(gw, key)
    done = finished(client, client.videos.create(model="openai/sora-2", prompt="something", seconds="4").id)
    assert done.status == "failed" and "blocked by moderation" in done.error.message
    (call,) = calls_of(api, key["account_id"])
    assert (call["status"], call["credits"]) == ("failed", 0)
    assert balance(gw, key) == before  # the hold was released
    with pytest.raises(openai.ConflictError):
        client.videos.download_content(done.id)


def test_veo_long_running_operation(gw, fake, client, api, key):
    model = "veo-3.0-generate-001"
    fv.install_veo(fake, model, "op42", MP4)
    before = balance(gw, key)
    job = client.videos.create(model=f"google/{model}", prompt="a fox in snow", seconds="6", size="720x1280")
    done = finished(client, job.id)
    assert (done.status, done.seconds, done.size) == ("completed", "6", "720x1280")
    assert client.videos.download_content(job.id).read() == MP4

    start, *polls, download, storage = fake.requests
    assert start.path == f"/v1beta/models/{model}:predictLongRunning"
    assert start.json == {"instances": [{"prompt": "a fox in snow"}],
                          "parameters": {"aspectRatio": "9:16", "resolution": "720p", "durationSeconds": 6}}
    assert [r.path for r in polls] == [f"/v1beta/models/{model}/operations/op42"] * 2
    assert (download.path, download.query) == ("/v1beta/files/op42-0:download", "alt=media")
    key_header = UPSTREAM_KEYS["GEMINI_API_KEY"]
    assert all(r.headers.get("x-goog-api-key") == key_header for r in (start, *polls, download))
    assert storage.path == "/storage/op42-0.mp4" and "x-goog-api-key" not in storage.headers  # not to storage

    (call,) = calls_of(api, key["account_id"])
    assert (call["provider"], call["model"], call["seconds"]) == ("google", model, 6)
    assert Decimal(str(call["credits"])) == before - balance(gw, key) == 6 * Decimal("0.4")


def test_veo_filtered_by_safety_is_a_failed_job(fake, client, api, key):
    fv.install_veo(fake, "veo-3.0-generate-001", "op7", MP4, filtered=["unsafe content"])
    done = finished(client, client.videos.create(model="google/veo-3.0-generate-001", prompt="x").id)
    assert done.status == "failed" and "unsafe content" in done.error.message
    assert [c["status"] for c in calls_of(api, key["account_id"])] == ["failed"]


def test_a_job_that_never_finishes_fails_at_the_deadline(fake, client, api, key):
    fv.install_sora(fake, "video_slow", MP4)
    fake.route("GET", "/v1/videos/video_slow", json=fv.sora_video("video_slow", "in_progress"))
    job = client.videos.create(model="openai/sora-2", prompt="slow", seconds="4")
    with pytest.raises(openai.ConflictError):  # not ready: no content yet
        client.videos.download_content(job.id)
    started = time.monotonic()
    done = finished(client, job.id)
    assert done.status == "failed" and done.error.code == "video_timeout"
    assert time.monotonic() - started < VIDEO_TIMEOUT_S + 5
    (call,) = calls_of(api, key["account_id"])
    assert (call["status"], call["credits"], call["error_code"]) == ("failed", 0, "video_timeout")


def test_jobs_belong_to_their_account(gw, api, client):
    other = gw.openai(create_key(api, credits=1)["key"])
    job = finished(client, client.videos.create(model="demo/video", prompt="mine", seconds="4").id)
    with pytest.raises(openai.NotFoundError):
        other.videos.retrieve(job.id)
    with pytest.raises(openai.NotFoundError):
        other.videos.download_content(job.id)
    assert client.videos.retrieve(job.id).status == "completed"


def test_refusals_come_at_create(gw, api):
    poor = create_key(api, credits=0.05)  # 8 s of demo/video cost 0.08
    with pytest.raises(openai.APIStatusError) as refused:
        gw.openai(poor["key"]).videos.create(model="demo/video", prompt="too long", seconds="8")
    assert refused.value.status_code == 402
    (call,) = calls_of(api, poor["account_id"])
    assert (call["status"], call["type"]) == ("failed", "video")
    rich = gw.openai(create_key(api, credits=1)["key"])
    with pytest.raises(openai.NotFoundError):
        rich.videos.create(model="nope/never", prompt="x")


@pytest.mark.parametrize("fields, param", [
    ({"model": "demo/video", "prompt": "x", "seconds": "soon"}, "seconds"),
    ({"model": "demo/video", "prompt": "x", "seconds": "0"}, "seconds"),
    ({"model": "demo/video", "prompt": "x", "size": "big"}, "size"),
    ({"model": "demo/video"}, "prompt"),
])
def test_bad_input_is_a_400_naming_the_field(gw, key, fields, param):
    answer = httpx.post(gw.url + "/v1/videos", json=fields, headers={"authorization": f"Bearer {key['key']}"})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == param


def test_a_reference_file_is_refused_by_name(client):
    with pytest.raises(openai.BadRequestError) as refused:
        client.videos.create(model="demo/video", prompt="x", input_reference=("ref.png", b"\x89PNG", "image/png"))
    assert refused.value.body["param"] == "input_reference"


def test_chat_model_cannot_make_videos(gw, api):
    api.post("/admin/model-rates", json={"provider": "demo", "model": "echo", "type": "chat", "output_rate": 0.01})
    client = gw.openai(create_key(api, credits=1)["key"])
    done = finished(client, client.videos.create(model="demo/echo", prompt="x").id)
    assert done.status == "failed" and "demo/video" in done.error.message


# -- hosted files ------------------------------------------------------------------------------


def _blob(gw: Gateway, size: int) -> str:
    """A file put straight into the gateway's local blob store (beside its database)."""
    blob_id = secrets.token_urlsafe(24) + ".mp4"
    folder = gw.db_path.parent / "blobs"
    folder.mkdir(exist_ok=True)
    with open(folder / blob_id, "wb") as out:
        for _ in range(size // (1 << 20)):
            out.write(os.urandom(1 << 20))
    return blob_id


def test_file_urls_are_signed_and_expire(gw):
    blob_id = _blob(gw, 1 << 20)
    now = int(time.time())
    good = signing.sign(TEST_SECRET, blob_id, now + 60)
    answer = httpx.get(f"{gw.url}/files/{good}")
    assert answer.status_code == 200 and len(answer.content) == 1 << 20
    assert answer.headers["content-type"] == "video/mp4"
    expired = signing.sign(TEST_SECRET, blob_id, now - 1)
    forged = signing.sign("another-secret-of-32-characters-or-more", blob_id, now + 60)
    stretched = good.replace(str(now + 60), str(now + 6000), 1)
    for token in (expired, forged, stretched, f"{now + 60}.x.{blob_id}", "..%2Fetc%2Fpasswd"):
        assert httpx.get(f"{gw.url}/files/{token}").status_code == 404, token


def _peak_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the server's peak memory from /proc")
def test_a_large_file_is_streamed_not_read_whole(gw):
    size = 96 << 20
    blob_id = _blob(gw, size)
    token = signing.sign(TEST_SECRET, blob_id, int(time.time()) + 60)
    peak_before = _peak_rss_kb(gw.process.pid)
    received = 0
    with httpx.stream("GET", f"{gw.url}/files/{token}", timeout=30) as answer:
        assert answer.status_code == 200 and answer.headers["content-length"] == str(size)
        for chunk in answer.iter_bytes():
            received += len(chunk)
    assert received == size
    grown_mb = (_peak_rss_kb(gw.process.pid) - peak_before) / 1024
    assert grown_mb < 32, f"the server's peak memory grew by {grown_mb:.0f} MB serving a 96 MB file"
