"""The pure parts of chalicelib/observability: traceparent parsing, the EMF members of a call
line, and the fields of the call log line."""
from __future__ import annotations

import pytest

from chalicelib.observability import emf, trace_context
from chalicelib.observability.hub import record_fields
from chalicelib.store.calls import CallRecord

TRACE, SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


@pytest.mark.parametrize("header, expected", [
    (f"00-{TRACE}-{SPAN}-01", (TRACE, SPAN, True)),
    (f"00-{TRACE}-{SPAN}-00", (TRACE, SPAN, False)),
    (f"00-{TRACE.upper()}-{SPAN}-01", (TRACE, SPAN, True)),  # hex is case-insensitive on the way in
    (f" 00-{TRACE}-{SPAN}-03 ", (TRACE, SPAN, True)),  # other flags beside "sampled"
    (f"01-{TRACE}-{SPAN}-01", (TRACE, SPAN, True)),  # a later version keeps the same four fields
    (f"ff-{TRACE}-{SPAN}-01", None),  # version ff is invalid
    (f"00-{'0' * 32}-{SPAN}-01", None),  # all-zero trace id
    (f"00-{TRACE}-{'0' * 16}-01", None),  # all-zero parent id
    (f"00-{TRACE[:-1]}-{SPAN}-01", None),
    ("garbage", None), ("", None), (None, None),
])
def test_parse_traceparent(header, expected):
    assert trace_context.parse(header) == expected


def test_a_trace_continues_the_clients_and_gives_each_attempt_its_own_span():
    trace = trace_context.begin(f"00-{TRACE}-{SPAN}-01")
    assert (trace.trace_id, trace.parent_id, trace.sampled) == (TRACE, SPAN, True)
    trace.begin_attempt()
    trace.begin_attempt()
    first, second = trace.attempts
    assert len({trace.span_id, first.span_id, second.span_id}) == 3
    assert trace_context.upstream.get() == f"00-{TRACE}-{second.span_id}-01"
    trace_context.upstream.set(None)  # this test's thread may serve an in-process app later
    fresh = trace_context.begin("nonsense")
    assert fresh.parent_id is None and len(fresh.trace_id) == 32 and fresh.trace_id != TRACE


def _record(**fields) -> CallRecord:
    return CallRecord(request_id="req_1", created_at=0, type="chat", provider="openai", model="gpt-4o",
                      surface="anthropic", **fields)


ATTEMPT = {"provider": "openai", "model": "gpt-4o", "credential_id": "cred_a", "status": 200, "error_code": None,
           "ms": 5.0}


@pytest.mark.parametrize("record, attempts, expected", [
    (_record(http_status=200, prompt_tokens=10, completion_tokens=4, credits=1_500_000_000, duration_ms=12.5,
             ttfb_ms=3.0), [ATTEMPT],
     {"Requests": 1, "Errors4xx": 0, "Errors5xx": 0, "Throttles": 0, "Attempts": 1, "ProviderErrors": 0,
      "Retries": 0, "Failovers": 0, "InputTokens": 10, "OutputTokens": 4, "Credits": 1.5, "Duration": 12.5,
      "TimeToFirstToken": 3.0}),
    (_record(http_status=502, status="failed"),
     [{**ATTEMPT, "status": 500}, {**ATTEMPT, "credential_id": "cred_b", "status": 503},
      {**ATTEMPT, "provider": "openrouter", "status": 0}],
     {"Errors5xx": 1, "Attempts": 3, "ProviderErrors": 3, "Retries": 2, "Failovers": 1}),
    (_record(http_status=429, status="failed"), [], {"Errors4xx": 1, "Throttles": 1, "Attempts": 0}),
])
def test_emf_members_of_a_call_line(record, attempts, expected):
    fields = emf.call_metrics(record, attempts)
    assert {k: fields[k] for k in expected} == expected
    (directive,) = fields["_aws"]["CloudWatchMetrics"]
    declared = {m["Name"] for m in directive["Metrics"]}
    assert set(expected) <= declared
    for dimensions in directive["Dimensions"]:
        assert all(isinstance(fields[d], str) for d in dimensions)
    assert (fields["Provider"], fields["Model"], fields["Surface"]) == ("openai", "gpt-4o", "anthropic")
    if record.ttfb_ms is None:
        assert "TimeToFirstToken" not in fields  # a missing value, not a zero that would drag averages


def test_the_call_line_leaves_out_error_text_which_may_echo_secrets():
    record = _record(status="failed", http_status=401, error_code="invalid_api_key",
                     error="Incorrect API key provided: sk-live-0123456789")
    fields = record_fields(record, [ATTEMPT])
    assert "sk-live" not in repr(fields)
    assert fields["error_code"] == "invalid_api_key" and fields["attempts"] == 1 and fields["credits"] == 0
