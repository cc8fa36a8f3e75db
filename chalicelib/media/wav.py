"""RIFF/WAVE: the format chunk, the duration of PCM audio, and silence for the demo voice.

Durations are only read from codecs whose byte rate is fixed by the header (PCM and its
float, A-law and mu-law kin); a compressed WAV's header rate says nothing exact.
"""
from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

PCM_FORMATS = frozenset({1, 3, 6, 7, 0xFFFE})  # PCM, float, A-law, mu-law, extensible


@dataclass(frozen=True, slots=True)
class Format:
    codec: int
    channels: int
    sample_rate: int
    byte_rate: int
    block_align: int

    @property
    def pcm(self) -> bool:
        return self.codec in PCM_FORMATS

    @property
    def play_rate(self) -> int:
        """Bytes a second a decoder plays: the lower of the two rates the header states."""
        return max(1, min(self.byte_rate, self.sample_rate * self.block_align))


def is_wav(raw: bytes) -> bool:
    return raw[:4] == b"RIFF" and raw[8:12] == b"WAVE"


def chunks(raw: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(id, offset of its data, declared size) of each chunk whose header is in `raw`."""
    at = 12
    while at + 8 <= len(raw):
        chunk, size = raw[at:at + 4], struct.unpack_from("<I", raw, at + 4)[0]
        yield chunk, at + 8, size
        at += 8 + size + size % 2


def fmt(raw: bytes) -> Format | None:
    """The format chunk of a WAV, when it lies within `raw`."""
    if not is_wav(raw):
        return None
    for chunk, start, _ in chunks(raw):
        if chunk == b"fmt " and start + 16 <= len(raw):
            return Format(*struct.unpack_from("<HHIIH", raw, start))
    return None


def duration(raw: bytes) -> float | None:
    """Seconds of a whole PCM WAV file (its data chunk, as far as the file holds it); None
    for anything else."""
    found = fmt(raw)
    if found is None or not found.pcm:
        return None
    for chunk, start, size in chunks(raw):
        if chunk == b"data":
            return min(size, len(raw) - start) / found.play_rate
    return None


def silence(seconds: float, sample_rate: int = 8_000) -> bytes:
    """A mono 8-bit PCM WAV of `seconds` of silence (8-bit PCM is unsigned: silence is 0x80)."""
    frames = round(seconds * sample_rate)
    header = b"RIFF" + struct.pack("<I", 36 + frames) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate, 1, 8)
    return header + b"data" + struct.pack("<I", frames) + b"\x80" * frames
