"""Latency histograms on a fixed log scale: merged by adding counts, stored as sparse bytes.

Bucket 0 holds values under MIN_MS (0 included); bucket i in 1..254 holds
[MIN_MS * 2**((i-1)/8), MIN_MS * 2**(i/8)); bucket 255 everything from about 10 hours up.
Eight buckets per doubling: a bucket spans 9.05%, and a percentile read as the geometric middle
of its bucket is within RESOLUTION (4.43%) of the exact nearest-rank value.
"""
from __future__ import annotations

import math
import struct

MIN_MS = 0.01
PER_OCTAVE = 8
BUCKETS = 256
RESOLUTION = 2 ** (1 / (2 * PER_OCTAVE)) - 1

Histogram = dict[int, int]  # bucket -> count; sparse, since most roll-up rows hold few calls

_PAIR = struct.Struct("<BQ")  # bucket, count: 9 bytes per non-empty bucket; no count can overflow
_PAIRS: dict[int, struct.Struct] = {}  # n -> n pairs at once, made on first use


def bucket_of(ms: float) -> int:
    if ms < MIN_MS:
        return 0
    return min(BUCKETS - 1, 1 + int(math.log2(ms / MIN_MS) * PER_OCTAVE))


def bucket_bounds(bucket: int) -> tuple[float, float]:
    """[low, high) of a bucket, in ms."""
    if bucket == 0:
        return 0.0, MIN_MS
    high = math.inf if bucket == BUCKETS - 1 else MIN_MS * 2 ** (bucket / PER_OCTAVE)
    return MIN_MS * 2 ** ((bucket - 1) / PER_OCTAVE), high


def value_of(bucket: int) -> float:
    """The value a bucket reads as: its geometric middle (its floor at either end of the scale)."""
    if bucket in (0, BUCKETS - 1):
        return bucket_bounds(bucket)[0]
    return MIN_MS * 2 ** ((bucket - 0.5) / PER_OCTAVE)


def encode(hist: Histogram) -> bytes | None:
    if not hist:
        return None
    packer = _PAIRS.get(len(hist))
    if packer is None:
        packer = _PAIRS[len(hist)] = struct.Struct("<" + "BQ" * len(hist))
    return packer.pack(*[x for pair in sorted(hist.items()) for x in pair])


def encode_one(bucket: int) -> bytes:
    """encode({bucket: 1}), faster."""
    return _PAIR.pack(bucket, 1)


def add_blob(hist: Histogram, blob: bytes | None) -> None:
    if blob:
        for b, n in _PAIR.iter_unpack(blob):
            hist[b] = hist.get(b, 0) + n


def add(hist: Histogram, other: Histogram) -> None:
    for b, n in other.items():
        hist[b] = hist.get(b, 0) + n


def merge_blobs(a: bytes | None, b: bytes | None) -> bytes | None:
    """SQL function of the roll-up's upsert: the histogram of both."""
    hist: Histogram = {}
    add_blob(hist, a)
    add_blob(hist, b)
    return encode(hist)


def percentile(hist: Histogram, percent: int) -> float | None:
    """The nearest-rank percentile (0 < percent <= 100), read as its bucket's value; None when empty."""
    total = sum(hist.values())
    if not total:
        return None
    rank = max(1, -(-percent * total // 100))  # ceil in integers: no float rounding at large counts
    seen = 0
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen >= rank:
            return value_of(bucket)
    raise AssertionError("unreachable: rank <= total")
