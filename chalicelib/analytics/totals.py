"""Totals of a set of calls: exact sums and latency histograms, added up from log or roll-up rows."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.analytics import histogram
from chalicelib.billing.units import from_minor

# Summed columns, named alike in model_calls (per call) and usage_rollup (per group).
TOKEN_FIELDS = ("prompt_tokens", "completion_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")
SUM_FIELDS = ("calls", "errors", *TOKEN_FIELDS, "images", "credits")
# What a model_calls row gives, in this order, to add_call.
CALL_COLUMNS = ("status", *TOKEN_FIELDS, "images", "credits", "duration_ms", "ttfb_ms")
# What a usage_rollup row gives, in this order, to add_rollup.
ROLLUP_COLUMNS = (*SUM_FIELDS, "duration_hist", "ttfb_hist")


@dataclass(slots=True)
class Totals:
    calls: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    images: int = 0
    credits: int = 0  # minor units (10**-9 credit)
    duration: histogram.Histogram = field(default_factory=dict)
    ttfb: histogram.Histogram = field(default_factory=dict)

    def add_call(self, row: Sequence[Any]) -> None:
        """One model_calls row: CALL_COLUMNS in order."""
        status, prompt, completion, cache_read, cache_write, reasoning, images, credits, duration, ttfb = row
        self.calls += 1
        self.errors += status == "failed"
        self.prompt_tokens += prompt or 0
        self.completion_tokens += completion or 0
        self.cache_read_tokens += cache_read or 0
        self.cache_write_tokens += cache_write or 0
        self.reasoning_tokens += reasoning or 0
        self.images += images or 0
        self.credits += credits or 0
        if duration is not None:
            bucket = histogram.bucket_of(duration)
            self.duration[bucket] = self.duration.get(bucket, 0) + 1
        if ttfb is not None:
            bucket = histogram.bucket_of(ttfb)
            self.ttfb[bucket] = self.ttfb.get(bucket, 0) + 1

    def add_rollup(self, row: Sequence[Any]) -> None:
        """One usage_rollup row: ROLLUP_COLUMNS in order."""
        calls, errors, prompt, completion, cache_read, cache_write, reasoning, images, credits, duration, ttfb = row
        self.calls += calls
        self.errors += errors
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        self.cache_read_tokens += cache_read
        self.cache_write_tokens += cache_write
        self.reasoning_tokens += reasoning
        self.images += images
        self.credits += credits
        histogram.add_blob(self.duration, duration)
        histogram.add_blob(self.ttfb, ttfb)

    def add(self, other: Totals) -> None:
        self.calls += other.calls
        self.errors += other.errors
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.reasoning_tokens += other.reasoning_tokens
        self.images += other.images
        self.credits += other.credits
        histogram.add(self.duration, other.duration)
        histogram.add(self.ttfb, other.ttfb)

    @property
    def total_tokens(self) -> int:
        # As the call log counts it: reasoning tokens are already inside completion tokens.
        return self.prompt_tokens + self.completion_tokens + self.cache_read_tokens + self.cache_write_tokens

    def view(self) -> dict[str, Any]:
        """The JSON metrics: credits in credits, latencies in ms."""
        return {
            "calls": self.calls,
            "errors": self.errors,
            "error_rate": round(self.errors / self.calls, 6) if self.calls else 0.0,
            **{name: getattr(self, name) for name in TOKEN_FIELDS},
            "total_tokens": self.total_tokens,
            "images": self.images,
            "credits": from_minor(self.credits),
            "duration_ms": _latency(self.duration),
            "ttfb_ms": _latency(self.ttfb),
        }


def _latency(hist: histogram.Histogram) -> dict[str, float | None]:
    return {name: None if (v := histogram.percentile(hist, percent)) is None else round(v, 3)
            for name, percent in (("p50", 50), ("p95", 95))}
