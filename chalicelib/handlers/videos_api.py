"""OpenAI's Videos API: `POST /v1/videos`, `GET /v1/videos/{id}`, `GET /v1/videos/{id}/content`.

Asynchronous like OpenAI's: create resolves the model and holds the credits (so a refusal is
immediate), records a queued job owned by the caller's account, and answers at once; the video
is made by a background task of `aihub serve`, which settles the job's one call record when it
ends. Where no background task can outlive the request (any Lambda: it is frozen once it has
answered), create waits for the video instead and answers the finished job: behind API Gateway
its 29 s limit cuts that short, so on AWS video belongs on the streaming function's URL (up to
15 minutes) or the AIGNE route, which waits by design.
"""
from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from chalicelib.api.forms import form_fields, is_form
from chalicelib.api.validation import json_body, validate
from chalicelib.api.videos import VideoCreateRequest
from chalicelib.config import settings
from chalicelib.errors import ApiError, bad_request, not_found
from chalicelib.gateway import background, pipeline
from chalicelib.gateway.auth import Principal
from chalicelib.gateway.http import ApiRequest, ApiResponse, json_response
from chalicelib.handlers.files import serve_blob
from chalicelib.store import videos as jobs
from chalicelib.store.shared import store, writer

log = logging.getLogger("aihub.videos")
_DAY_MS = 86_400_000
# A job still running this long past the video deadline lost its process (a restart).
_GRACE_MS = 60_000
_PROGRESS = {"queued": 0, "in_progress": 50, "completed": 100, "failed": 100}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _body(req: ApiRequest) -> dict[str, Any]:
    content_type = req.headers.get("content-type", "")
    if is_form(content_type):
        return form_fields(req.body, content_type,
                           files_refused={"input_reference": "a reference image is not supported yet"})
    return json_body(req.body)


def _seconds_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _view(job: jobs.VideoJob, now_ms: int) -> dict[str, Any]:
    """The job as OpenAI's Video object."""
    status, error = job.status, job.error
    if status in ("queued", "in_progress") and now_ms - job.created_at > settings().video_timeout_s * 1000 + _GRACE_MS:
        status, error = "failed", {"code": "interrupted", "message": "The gateway stopped while making this video."}
    return {
        "id": job.id, "object": "video", "model": job.model, "status": status, "progress": _PROGRESS[status],
        "created_at": job.created_at // 1000,
        "completed_at": job.completed_at // 1000 if job.completed_at else None,
        "expires_at": job.expires_at // 1000 if job.expires_at else None,
        "seconds": job.seconds or "4", "size": job.size or "", "prompt": job.prompt, "error": error,
        "remixed_from_video_id": None,
    }


async def _make(job: jobs.VideoJob, call: pipeline.VideoCall) -> None:
    """Run the admitted call and write how the job ended (the call record is the pipeline's)."""
    try:
        outcome = await call.run()
    except ApiError as error:
        job.status, job.error = "failed", {"code": error.code or "video_failed", "message": error.message}
    except Exception:
        log.exception("video job %s failed", job.id)
        job.status, job.error = "failed", {"code": "internal_error", "message": "The gateway failed to make it."}
    else:
        result = outcome.result
        job.status, job.blob_ids = "completed", [blob.id for blob in result.blobs]
        job.seconds, job.size = _seconds_text(result.seconds), result.size or job.size
    job.completed_at = _now_ms()
    job.expires_at = job.completed_at + int(settings().blob_ttl_days * _DAY_MS)
    await writer().run(lambda conn: jobs.finish(conn, job), durable=True)


async def create(req: ApiRequest, who: Principal) -> ApiResponse:
    body = _body(req)
    validate(VideoCreateRequest, body)
    call = await pipeline.admit_video(req, who, body)
    later = background.available()
    job = jobs.VideoJob("video_" + secrets.token_hex(16), who.account_id, req.request_id, body["model"],
                        body["prompt"], None if body.get("seconds") is None else str(body["seconds"]),
                        body.get("size"), "in_progress" if later else "queued", _now_ms())
    try:
        await writer().run(lambda conn: jobs.insert(conn, job))
    except ApiError as error:  # the database cannot take it now (503)
        await call.abandon(error)
        raise
    if later:
        background.spawn(_make(job, call), name=job.id)
    else:
        await _make(job, call)
    return json_response(_view(job, _now_ms()))


def _owned(req: ApiRequest, who: Principal) -> jobs.VideoJob:
    found = jobs.get(store(), req.params["id"], who.account_id)
    if found is None or (found.expires_at is not None and found.expires_at <= _now_ms()):
        raise not_found(f"Video with id '{req.params['id']}' not found.", code="video_not_found")
    return found


async def retrieve(req: ApiRequest, who: Principal) -> ApiResponse:
    return json_response(_view(_owned(req, who), _now_ms()))


async def content(req: ApiRequest, who: Principal) -> ApiResponse:
    variant = req.query.get("variant", "video")
    if variant != "video":
        raise bad_request(f"Only the 'video' variant is available here, not {variant!r}.", param="variant")
    job = _owned(req, who)
    if job.status != "completed" or not job.blob_ids:
        raise ApiError(409, f"Video '{job.id}' is {_view(job, _now_ms())['status']}; its content is not ready.",
                       code="video_not_ready")
    return await serve_blob(job.blob_ids[0])
