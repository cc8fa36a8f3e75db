"""The demo provider's MP4: its H.264 bit writer, and a box structure a player can read."""
from __future__ import annotations

import struct

import pytest

from chalicelib.media import mp4


def _bits(write) -> str:
    out = mp4._Bits()
    write(out)
    return "".join(map(str, out.bits))


@pytest.mark.parametrize("value, code", [(0, "1"), (1, "010"), (2, "011"), (3, "00100"), (7, "0001000"),
                                         (25, "000011010")])
def test_exp_golomb_unsigned(value, code):
    assert _bits(lambda b: b.ue(value)) == code


@pytest.mark.parametrize("value, code", [(0, "1"), (1, "010"), (-1, "011"), (2, "00100"), (-2, "00101")])
def test_exp_golomb_signed(value, code):
    assert _bits(lambda b: b.se(value)) == code


def test_emulation_prevention():
    assert mp4._nal(0x65, b"\x00\x00\x01\x00\x00\x00\x00\x00\x04") == b"\x65\x00\x00\x03\x01\x00\x00\x03\x00\x00\x03\x00\x04"


def boxes(data: bytes, start: int = 0, end: int | None = None) -> dict[bytes, tuple[int, int]]:
    """Top-level boxes of a range: type -> (payload start, payload end)."""
    end = len(data) if end is None else end
    found, at = {}, start
    while at < end:
        size, kind = struct.unpack_from(">I4s", data, at)
        assert size >= 8 and at + size <= end, f"box {kind!r} overruns its parent"
        found[kind] = (at + 8, at + size)
        at += size
    assert at == end
    return found


def child(data: bytes, parent: tuple[int, int], *path: bytes, skip: int = 0) -> tuple[int, int]:
    span = parent
    for kind in path:
        span = boxes(data, span[0] + skip, span[1])[kind]
        skip = 0
    return span


@pytest.mark.parametrize("seconds", [4, 8, 2.5])
def test_the_box_tree_is_whole_and_timed(seconds):
    data = mp4.build(seconds, (81, 90, 240))
    top = boxes(data)
    assert list(top) == [b"ftyp", b"mdat", b"moov"] and data[8:12] == b"isom"
    assert len(data) < 1200  # tiny whatever the duration
    moov = top[b"moov"]
    mvhd = child(data, moov, b"mvhd")
    assert struct.unpack_from(">II", data, mvhd[0] + 12) == (1000, seconds * 1000)
    stbl = child(data, moov, b"trak", b"mdia", b"minf", b"stbl")
    table = boxes(data, *stbl)
    assert set(table) == {b"stsd", b"stts", b"stsc", b"stsz", b"stco"}
    assert struct.unpack_from(">III", data, table[b"stts"][0] + 4) == (1, 1, seconds * 1000)
    _, sample_size = struct.unpack_from(">II", data, table[b"stsz"][0] + 8)
    (offset,) = struct.unpack_from(">I", data, table[b"stco"][0] + 8)
    assert top[b"mdat"] == (offset, offset + sample_size)  # the one sample is the whole mdat
    (nal_size,) = struct.unpack_from(">I", data, offset)
    assert nal_size == sample_size - 4 and data[offset + 4] == 0x65  # an IDR slice, AVCC-framed


def test_the_decoder_configuration_names_the_parameter_sets():
    data = mp4.build(4)
    at = data.index(b"avcC") + 4
    assert data[at:at + 6] == bytes([1, 66, 0xC0, 10, 0xFF, 0xE1])  # Baseline, level 1, 4-byte lengths, 1 SPS
    (sps_len,) = struct.unpack_from(">H", data, at + 6)
    assert data[at + 8:at + 8 + sps_len] == mp4.sps()
    (pps_len,) = struct.unpack_from(">H", data, at + 9 + sps_len)
    assert data[at + 11 + sps_len:at + 11 + sps_len + pps_len] == mp4.pps()


def test_the_frame_carries_its_colour():
    frame = mp4.idr_frame(81, 90, 240)
    assert bytes([81]) * 256 + bytes([90]) * 64 + bytes([240]) * 64 in frame
