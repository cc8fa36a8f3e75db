"""OpenAI's Videos API (Sora), pure: the create form and the reading of a video job.

Create is `POST /videos` as multipart/form-data (model, prompt, seconds, size), then
`GET /videos/{id}` until `status` is `completed` or `failed`, then `GET /videos/{id}/content`.
"""
from __future__ import annotations

from typing import Any

FIELDS = ("prompt", "seconds", "size")
PENDING = frozenset({"queued", "in_progress"})


def create_form(body: dict[str, Any], model: str) -> dict[str, tuple[None, str]]:
    """The multipart fields of the create call (httpx `files` entries without a file name)."""
    form = {"model": (None, model)}
    for name in FIELDS:
        value = body.get(name)
        if value is not None:
            form[name] = (None, _text(value))
    return form


def _text(value: Any) -> str:
    # OpenAI takes seconds as a string ("4"); a whole number sent as 4 or 4.0 means the same.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def job_id(job: dict[str, Any]) -> str | None:
    value = job.get("id")
    return value if isinstance(value, str) and value and "/" not in value else None


def state(job: dict[str, Any]) -> str:
    """`pending`, `completed` or `failed` (an unknown status is still pending: it may be new)."""
    status = job.get("status")
    if status == "completed" or status == "failed":
        return status
    return "pending"


def error_of(job: dict[str, Any]) -> tuple[str, str | None]:
    """The message and code of a failed job."""
    error = job.get("error") if isinstance(job.get("error"), dict) else {}
    return str(error.get("message") or "the job failed"), (str(error["code"]) if error.get("code") else None)


def seconds_of(job: dict[str, Any], asked: float | None) -> float:
    """The video's length: what the job says it made, else what was asked, else Sora's default 4."""
    try:
        return float(job["seconds"])
    except (KeyError, TypeError, ValueError):
        return asked if asked is not None else 4.0
