"""video_jobs: the jobs of `POST /v1/videos`, read back by `GET /v1/videos/{id}` and `/content`.

A job belongs to the account that made it (NULL for the environment's admin key): reads never
return another account's job.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

import orjson

from chalicelib.store.db import Store


@dataclass(slots=True)
class VideoJob:
    id: str
    account_id: str | None
    request_id: str
    model: str
    prompt: str
    seconds: str | None
    size: str | None
    status: str  # queued | in_progress | completed | failed
    created_at: int  # ms
    error: dict[str, Any] | None = None
    blob_ids: list[str] = field(default_factory=list)
    completed_at: int | None = None
    expires_at: int | None = None  # ms: when its files are gone


def insert(conn: sqlite3.Connection, job: VideoJob) -> None:
    conn.execute(
        "INSERT INTO video_jobs (id, account_id, request_id, model, prompt, seconds, size, status, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (job.id, job.account_id, job.request_id, job.model, job.prompt, job.seconds, job.size, job.status,
         job.created_at))


def finish(conn: sqlite3.Connection, job: VideoJob) -> None:
    conn.execute(
        "UPDATE video_jobs SET status = ?, seconds = ?, size = ?, error = ?, blob_ids = ?, completed_at = ?,"
        " expires_at = ? WHERE id = ?",
        (job.status, job.seconds, job.size, orjson.dumps(job.error).decode() if job.error else None,
         orjson.dumps(job.blob_ids).decode(), job.completed_at, job.expires_at, job.id))


def get(store: Store, job_id: str, account_id: str | None) -> VideoJob | None:
    row = store.query_one("SELECT * FROM video_jobs WHERE id = ? AND account_id IS ?", (job_id, account_id))
    if row is None:
        return None
    return VideoJob(row["id"], row["account_id"], row["request_id"], row["model"], row["prompt"] or "",
                    row["seconds"], row["size"], row["status"], row["created_at"],
                    orjson.loads(row["error"]) if row["error"] else None,
                    orjson.loads(row["blob_ids"]) if row["blob_ids"] else [], row["completed_at"], row["expires_at"])


def purge_expired(conn: sqlite3.Connection, now_ms: int) -> int:
    return conn.execute("DELETE FROM video_jobs WHERE expires_at <= ?", (now_ms,)).rowcount
