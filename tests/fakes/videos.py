"""Video providers' wire formats for the fake upstream, after their published API references.

OpenAI's Videos API (Sora): `POST /v1/videos` (multipart/form-data: model, prompt, seconds, size)
answers a Video object `queued`; `GET /v1/videos/{id}` moves it through `in_progress` to
`completed` (or `failed` with `error: {code, message}`); `GET /v1/videos/{id}/content` is the
MP4 (application/binary asked, video/mp4 answered).

Google's Veo (Gemini API): `POST /v1beta/models/{model}:predictLongRunning` answers an operation
`{"name": "models/{model}/operations/{id}"}`; `GET /v1beta/{name}` is the operation, `done: true`
at last with `response.generateVideoResponse.generatedSamples[].video.uri`; that URI (on the API's
host, `x-goog-api-key` required) redirects to the file's storage.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.fakes.upstream import FakeUpstream
from tests.fakes.wire import RecordedRequest

SORA_CREATED = 1_760_000_000
VEO_PATH = "/v1beta/models/{model}:predictLongRunning"
VEO_RESPONSE_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"


def sora_video(video_id: str, status: str, *, model: str = "sora-2", seconds: str = "4", size: str = "720x1280",
               prompt: str = "", error: dict[str, str] | None = None) -> dict[str, Any]:
    progress = {"queued": 0, "in_progress": 40, "completed": 100, "failed": 0}[status]
    return {"id": video_id, "object": "video", "model": model, "status": status, "progress": progress,
            "created_at": SORA_CREATED, "completed_at": SORA_CREATED + 60 if status == "completed" else None,
            "expires_at": SORA_CREATED + 86_400 if status == "completed" else None, "prompt": prompt,
            "seconds": seconds, "size": size, "remixed_from_video_id": None, "error": error}


def _json(data: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    import orjson

    return 200, {"content-type": "application/json"}, orjson.dumps(data)


def _steps(states: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Each state in turn, then the last one for ever (a poller may ask once more)."""
    yield from states
    while True:
        yield states[-1]


def install_sora(fake: FakeUpstream, video_id: str, content: bytes, *, seconds: str = "4", size: str = "720x1280",
                 fail: dict[str, str] | None = None) -> None:
    """A job that is queued when made, in progress on the first poll, then completed (or failed)."""
    def create(req: RecordedRequest) -> tuple[int, dict[str, str], bytes]:
        return _json(sora_video(video_id, "queued", seconds=seconds, size=size))

    last = sora_video(video_id, "failed", error=fail) if fail else sora_video(video_id, "completed", seconds=seconds,
                                                                               size=size)
    states = _steps([sora_video(video_id, "in_progress", seconds=seconds, size=size), last])
    fake.route("POST", "/v1/videos", handler=create)
    fake.route("GET", f"/v1/videos/{video_id}", handler=lambda req: _json(next(states)))
    fake.route("GET", f"/v1/videos/{video_id}/content", body=content, headers={"content-type": "video/mp4"})


def install_veo(fake: FakeUpstream, model: str, operation: str, content: bytes, *, samples: int = 1,
                filtered: list[str] | None = None) -> None:
    """An operation that runs on the first poll and is done on the second; each sample's URI
    redirects to storage, as the Files API's download does."""
    name = f"models/{model}/operations/{operation}"
    uris = [fake.url(f"/v1beta/files/{operation}-{i}:download?alt=media") for i in range(samples)]
    generated: dict[str, Any] = {"generatedSamples": [{"video": {"uri": uri}} for uri in uris]}
    if filtered:
        generated = {"raiMediaFilteredCount": len(filtered), "raiMediaFilteredReasons": filtered}
    done = {"name": name, "done": True, "response": {"@type": VEO_RESPONSE_TYPE, "generateVideoResponse": generated}}
    states = _steps([{"name": name}, done])
    fake.route("POST", VEO_PATH.format(model=model), json={"name": name})
    fake.route("GET", f"/v1beta/{name}", handler=lambda req: _json(next(states)))
    for i in range(samples):
        storage = f"/storage/{operation}-{i}.mp4"
        fake.route("GET", f"/v1beta/files/{operation}-{i}:download", status=302,
                   headers={"location": fake.url(storage)})
        fake.route("GET", storage, body=content, headers={"content-type": "video/mp4"})
