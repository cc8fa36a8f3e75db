"""OpenTelemetry spans of a settled call, exported over OTLP/HTTP (protobuf).

Imported only when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set, and then only at the first
settled call: the exporter reads the standard OTEL_EXPORTER_OTLP_* variables (endpoint,
headers, timeout) and OTEL_SERVICE_NAME names the service (default `aihub`). A batch processor
sends from its own thread (OTEL_BSP_SCHEDULE_DELAY, default 5 s), so a call never waits on it.

Spans follow the GenAI semantic conventions: one SERVER span per call (`chat gpt-4o`), child
of the client's `traceparent` when it sent one, and one CLIENT span per upstream attempt, whose
id is the parent id the provider received in its own `traceparent`.
"""
from __future__ import annotations

import atexit
import os
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from chalicelib.observability.trace_context import Trace
from chalicelib.store.calls import CallRecord

# gen_ai.operation.name for each kind of call (images have no name of their own in the conventions).
OPERATIONS = {"chat": "chat", "embedding": "embeddings", "image": "generate_content"}
# gen_ai.provider.name's well-known values; any other provider goes by its own name.
PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "google": "gcp.gemini", "gemini": "gcp.gemini",
             "bedrock": "aws.bedrock", "deepseek": "deepseek", "xai": "x_ai", "openrouter": "openrouter"}

_SCOPE = InstrumentationScope("aihub")
_RESOURCE = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or "aihub"})
_processor = BatchSpanProcessor(OTLPSpanExporter())
atexit.register(_processor.shutdown)


def _context(trace: Trace, span_id: str) -> SpanContext:
    return SpanContext(int(trace.trace_id, 16), int(span_id, 16), is_remote=False,
                       trace_flags=TraceFlags(TraceFlags.SAMPLED))


def _genai(rec: CallRecord, provider: str | None, model: str | None) -> dict[str, Any]:
    attrs: dict[str, Any] = {"gen_ai.operation.name": OPERATIONS.get(rec.type, rec.type),
                             "gen_ai.request.model": rec.requested_model or ""}
    if provider:
        attrs["gen_ai.provider.name"] = PROVIDERS.get(provider, provider)
        attrs["aihub.provider"] = provider
    if model:
        attrs["gen_ai.response.model"] = model
    return attrs


def export(rec: CallRecord, attempts: list[dict[str, Any]], trace: Trace) -> None:
    if not trace.sampled:
        return
    start_ns = trace.started_ns
    end_ns = start_ns + int((rec.duration_ms or 0) * 1e6)
    call_ctx = _context(trace, trace.span_id)
    attrs = _genai(rec, rec.provider, rec.model)
    attrs.update({
        "gen_ai.usage.input_tokens": rec.prompt_tokens, "gen_ai.usage.output_tokens": rec.completion_tokens,
        "gen_ai.usage.cache_read.input_tokens": rec.cache_read_tokens,
        "gen_ai.usage.cache_creation.input_tokens": rec.cache_write_tokens,
        "http.response.status_code": rec.http_status or 0, "aihub.request_id": rec.request_id,
        "aihub.surface": rec.surface, "aihub.stream": bool(rec.stream), "aihub.attempts": len(attempts),
        "aihub.credits": rec.credits,
    })
    if rec.credential_id:
        attrs["aihub.credential_id"] = rec.credential_id
    failed = rec.status != "success"
    if failed:
        attrs["error.type"] = rec.error_code or str(rec.http_status)
    parent = None if trace.parent_id is None else SpanContext(
        int(trace.trace_id, 16), int(trace.parent_id, 16), is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    name = f"{attrs['gen_ai.operation.name']} {rec.requested_model or ''}".strip()
    spans = [ReadableSpan(name, call_ctx, parent, _RESOURCE, attrs, kind=SpanKind.SERVER,
                          status=Status(StatusCode.ERROR if failed else StatusCode.UNSET),
                          start_time=start_ns, end_time=end_ns, instrumentation_scope=_SCOPE)]
    for tried, info in zip(trace.attempts, attempts):
        ok = info["status"] == 200
        a_attrs = _genai(rec, info["provider"], info["model"])
        a_attrs.update({"gen_ai.request.model": info["model"], "aihub.credential_id": info["credential_id"],
                        "http.response.status_code": info["status"] or 0})
        if not ok:
            a_attrs["error.type"] = info["error_code"] or str(info["status"])
        spans.append(ReadableSpan(
            f"{a_attrs['gen_ai.operation.name']} {info['model']}", _context(trace, tried.span_id), call_ctx,
            _RESOURCE, a_attrs, kind=SpanKind.CLIENT, status=Status(StatusCode.UNSET if ok else StatusCode.ERROR),
            start_time=tried.started_ns, end_time=tried.started_ns + int(info["ms"] * 1e6),
            instrumentation_scope=_SCOPE))
    for span in spans:
        _processor.on_end(span)
