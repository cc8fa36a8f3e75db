"""JSON lines on stdout: one per call, one per request (access log, on demand), and every
warning and error of the `aihub.*` loggers, each with the request id it happened in.

On Lambda stdout is the CloudWatch log, so these lines are what metric filters and Logs
Insights read; the call line also carries the embedded metric format there (emf.py).
"""
from __future__ import annotations

import contextvars
import logging
import os
import sys
import time
from typing import Any

import orjson

from chalicelib.config import observability

# The request being served in this task (each request runs in its own asyncio task, whose
# context is a copy: a value set here never leaks into another request).
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("aihub_request_id", default=None)

calls_log = logging.getLogger("aihub.calls")
access_log = logging.getLogger("aihub.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id, and the fields
    passed as `extra={"fields": {...}}`."""

    def format(self, record: logging.LogRecord) -> str:
        line = _head(record.created, record.levelname.lower(), record.name, record.getMessage())
        fields = getattr(record, "fields", None)
        if fields:
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def _head(created: float, level: str, logger: str, message: str) -> dict[str, Any]:
    line: dict[str, Any] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z",
        "level": level,
        "logger": logger,
        "message": message,
        "pid": os.getpid(),  # which worker of `aihub serve --workers N`
    }
    rid = request_id.get()
    if rid is not None:
        line["request_id"] = rid
    return line


class _Stdout(logging.StreamHandler):
    """Writes to the sys.stdout of the moment (pytest and Lambda's runtime swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


_configured = False
_handler = _Stdout()
_handler.setFormatter(JsonFormatter())


def configure() -> None:
    """Route every log record to one JSON handler on stdout, once per process.

    The root logger gets the handler (on Lambda it replaces the runtime's plain-text one, whose
    prefix would break the embedded metric format); `aihub` propagates to it at AIHUB_LOG_LEVEL,
    and the call and access lines have their own switches, so a quiet level keeps the call log.
    """
    global _configured
    if _configured:
        return
    _configured = True
    cfg = observability()
    root = logging.getLogger()
    if cfg.on_lambda:
        for handler in list(root.handlers):
            root.removeHandler(handler)
    root.addHandler(_handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    aihub = logging.getLogger("aihub")
    aihub.propagate = True
    aihub.setLevel(cfg.log_level if cfg.log_level in logging.getLevelNamesMapping() else logging.INFO)
    for logger, on in ((calls_log, cfg.call_log or cfg.on_lambda), (access_log, cfg.access_log)):
        logger.setLevel(logging.INFO if on else logging.CRITICAL + 1)


def write(line: dict[str, Any]) -> None:
    """One JSON line on stdout, through the log handler's lock so lines never interleave."""
    text = orjson.dumps(line, default=str).decode() + "\n"
    with _handler.lock:  # type: ignore[union-attr]
        sys.stdout.write(text)
        sys.stdout.flush()


def call_line(fields: dict[str, Any]) -> None:
    """The line of a settled call. Written directly, not through `logging`: a LogRecord, its
    caller lookup and its formatting cost more than the whole line (measured here: ~22 us against ~11 us),
    and this runs once per call."""
    if calls_log.isEnabledFor(logging.INFO):
        line = _head(time.time(), "info", "aihub.calls", "call")
        line.update(fields)
        write(line)


def access_line(method: str, path: str, status: int, started: float, request: str) -> None:
    if access_log.isEnabledFor(logging.INFO):
        access_log.info("request", extra={"fields": {
            "request_id": request, "method": method, "path": path, "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3)}})


def uvicorn_config(level: str) -> dict[str, Any]:
    """uvicorn's own lines (start, stop, protocol errors) as JSON on stdout too, for `aihub serve`."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
        "loggers": {"uvicorn": {"handlers": ["json"], "level": level.upper(), "propagate": False}},
    }
