"""W3C trace context (`traceparent`) without OpenTelemetry: parse the client's header, choose
the ids of the call's span and of each upstream attempt's span, and hand the header upstream.

The ids are chosen here while the call runs (a few random bytes per attempt); the spans
themselves are built from them once the call has settled (tracing.py), so nothing of
OpenTelemetry runs on the request path.
"""
from __future__ import annotations

import contextvars
import re
import secrets
import time
from dataclasses import dataclass, field

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16

# The traceparent the next upstream request of this task sends (providers/http.py reads it).
upstream: contextvars.ContextVar[str | None] = contextvars.ContextVar("aihub_upstream_traceparent", default=None)


def parse(header: str | None) -> tuple[str, str, bool] | None:
    """(trace id, parent span id, sampled) of a valid traceparent, else None (then ignored,
    as the W3C spec says: a new trace starts)."""
    if not header:
        return None
    found = _TRACEPARENT.match(header.strip().lower())
    if found is None or found[1] == "ff" or found[2] == _ZERO_TRACE or found[3] == _ZERO_SPAN:
        return None
    return found[2], found[3], bool(int(found[4], 16) & 1)


def header(trace_id: str, span_id: str, sampled: bool) -> str:
    return f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}"


@dataclass(slots=True)
class Attempt:
    span_id: str
    started_ns: int


@dataclass(slots=True)
class Trace:
    """The call's place in a trace: its own span, its parent (the client's span, if any) and
    one span per upstream attempt, in order."""

    trace_id: str
    span_id: str
    parent_id: str | None
    sampled: bool
    started_ns: int = field(default_factory=time.time_ns)  # wall clock, as spans are timed
    attempts: list[Attempt] = field(default_factory=list)

    def begin_attempt(self) -> None:
        attempt = Attempt(secrets.token_hex(8), time.time_ns())
        self.attempts.append(attempt)
        upstream.set(header(self.trace_id, attempt.span_id, self.sampled))


def begin(client_header: str | None) -> Trace:
    parent = parse(client_header)
    if parent is None:
        return Trace(secrets.token_hex(16), secrets.token_hex(8), None, True)
    trace_id, parent_id, sampled = parent
    return Trace(trace_id, secrets.token_hex(8), parent_id, sampled)


def forward(client_header: str | None) -> None:
    """Tracing off: the gateway is no hop of the trace, so the client's header goes up as is."""
    if parse(client_header) is not None:
        upstream.set(client_header.strip().lower())  # type: ignore[union-attr]
