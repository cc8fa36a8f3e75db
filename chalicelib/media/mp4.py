"""A tiny, valid, playable MP4 built in code: the demo provider's video (no binary fixture).

One 16x16 H.264 frame (Baseline profile) held for the whole duration. The frame is a single
I_PCM macroblock (its pixels stored raw), which needs no entropy coder, so the encoder is a
bit writer and the ISO BMFF boxes around it: about 700 bytes whatever the duration.
"""
from __future__ import annotations

import struct

SIZE = 16  # pixels: one macroblock
TIMESCALE = 1000  # ticks a second in the movie and media headers
_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)  # identity


class _Bits:
    """An H.264 RBSP writer: fixed-width fields and Exp-Golomb codes."""

    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, width: int, value: int) -> None:
        self.bits += [(value >> (width - 1 - i)) & 1 for i in range(width)]

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(2 * code.bit_length() - 1, code)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def align_zero(self) -> None:
        while len(self.bits) % 8:
            self.bits.append(0)

    def raw(self, data: bytes) -> None:
        for byte in data:
            self.u(8, byte)

    def trailing(self) -> bytes:
        self.bits.append(1)  # rbsp_stop_one_bit
        self.align_zero()
        return bytes(int("".join(map(str, self.bits[i:i + 8])), 2) for i in range(0, len(self.bits), 8))


def _nal(header: int, rbsp: bytes) -> bytes:
    """A NAL unit: its header byte and the payload with emulation prevention bytes inserted."""
    out, zeros = bytearray([header]), 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def sps() -> bytes:
    b = _Bits()
    b.u(8, 66)  # profile_idc: Baseline
    b.u(8, 0xC0)  # constraint_set0 and set1: decodable by any Baseline or Main decoder
    b.u(8, 10)  # level 1.0
    b.ue(0)  # seq_parameter_set_id
    b.ue(0)  # log2_max_frame_num_minus4
    b.ue(2)  # pic_order_cnt_type 2: output order is decode order
    b.ue(1)  # max_num_ref_frames
    b.u(1, 0)  # gaps_in_frame_num_value_allowed_flag
    b.ue(SIZE // 16 - 1)  # pic_width_in_mbs_minus1
    b.ue(SIZE // 16 - 1)  # pic_height_in_map_units_minus1
    b.u(1, 1)  # frame_mbs_only_flag
    b.u(1, 1)  # direct_8x8_inference_flag
    b.u(1, 0)  # frame_cropping_flag
    b.u(1, 0)  # vui_parameters_present_flag
    return _nal(0x67, b.trailing())


def pps() -> bytes:
    b = _Bits()
    b.ue(0)  # pic_parameter_set_id
    b.ue(0)  # seq_parameter_set_id
    b.u(1, 0)  # entropy_coding_mode_flag: CAVLC
    b.u(1, 0)  # bottom_field_pic_order_in_frame_present_flag
    b.ue(0)  # num_slice_groups_minus1
    b.ue(0)  # num_ref_idx_l0_default_active_minus1
    b.ue(0)  # num_ref_idx_l1_default_active_minus1
    b.u(1, 0)  # weighted_pred_flag
    b.u(2, 0)  # weighted_bipred_idc
    b.se(0)  # pic_init_qp_minus26
    b.se(0)  # pic_init_qs_minus26
    b.se(0)  # chroma_qp_index_offset
    b.u(1, 0)  # deblocking_filter_control_present_flag
    b.u(1, 0)  # constrained_intra_pred_flag
    b.u(1, 0)  # redundant_pic_cnt_present_flag
    return _nal(0x68, b.trailing())


def idr_frame(y: int, cb: int, cr: int) -> bytes:
    """An IDR slice of one I_PCM macroblock of a flat colour (YCbCr samples)."""
    b = _Bits()
    b.ue(0)  # first_mb_in_slice
    b.ue(7)  # slice_type: I, as every slice of the picture
    b.ue(0)  # pic_parameter_set_id
    b.u(4, 0)  # frame_num (log2_max_frame_num = 4)
    b.ue(0)  # idr_pic_id
    b.u(1, 0)  # no_output_of_prior_pics_flag
    b.u(1, 0)  # long_term_reference_flag
    b.se(0)  # slice_qp_delta
    b.ue(25)  # mb_type: I_PCM
    b.align_zero()  # pcm_alignment_zero_bit
    b.raw(bytes([y]) * SIZE * SIZE + bytes([cb]) * (SIZE * SIZE // 4) + bytes([cr]) * (SIZE * SIZE // 4))
    return _nal(0x65, b.trailing())


def _box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *parts)


def _avc1(sps_nal: bytes, pps_nal: bytes) -> bytes:
    avcc = _box(b"avcC", bytes([1, sps_nal[1], sps_nal[2], sps_nal[3], 0xFF, 0xE1]),
                struct.pack(">H", len(sps_nal)), sps_nal, b"\x01", struct.pack(">H", len(pps_nal)), pps_nal)
    return _box(b"avc1", b"\x00" * 6, struct.pack(">H", 1), b"\x00" * 16, struct.pack(">HH", SIZE, SIZE),
                struct.pack(">II", 0x480000, 0x480000), b"\x00" * 4, struct.pack(">H", 1), b"\x00" * 32,
                struct.pack(">Hh", 0x18, -1), avcc)


def build(seconds: float, colour: tuple[int, int, int] = (128, 128, 128)) -> bytes:
    """An MP4 of `seconds` of one flat colour (YCbCr samples, 16..235)."""
    duration = max(1, round(seconds * TIMESCALE))
    sample = idr_frame(*colour)
    sample = struct.pack(">I", len(sample)) + sample  # AVCC framing: 4-byte lengths
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 512), b"isomiso2avc1mp41")
    mdat = _box(b"mdat", sample)
    offset = len(ftyp) + 8  # the sample starts right after the mdat header
    stbl = _box(b"stbl",
                _full(b"stsd", 0, 0, struct.pack(">I", 1), _avc1(sps(), pps())),
                _full(b"stts", 0, 0, struct.pack(">III", 1, 1, duration)),
                _full(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, 1, 1)),
                _full(b"stsz", 0, 0, struct.pack(">III", 0, 1, len(sample))),
                _full(b"stco", 0, 0, struct.pack(">II", 1, offset)))
    minf = _box(b"minf", _full(b"vmhd", 0, 1, b"\x00" * 8),
                _box(b"dinf", _full(b"dref", 0, 0, struct.pack(">I", 1), _full(b"url ", 0, 1))), stbl)
    mdia = _box(b"mdia",
                _full(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, TIMESCALE, duration, 0x55C4, 0)),
                _full(b"hdlr", 0, 0, b"\x00" * 4, b"vide", b"\x00" * 12, b"VideoHandler\x00"), minf)
    tkhd = _full(b"tkhd", 0, 3, struct.pack(">IIII", 0, 0, 1, 0), struct.pack(">I", duration), b"\x00" * 8,
                 struct.pack(">hhhH", 0, 0, 0, 0), _MATRIX, struct.pack(">II", SIZE << 16, SIZE << 16))
    mvhd = _full(b"mvhd", 0, 0, struct.pack(">IIII", 0, 0, TIMESCALE, duration), struct.pack(">IH", 0x10000, 0x100),
                 b"\x00" * 10, _MATRIX, b"\x00" * 24, struct.pack(">I", 2))
    moov = _box(b"moov", mvhd, _box(b"trak", tkhd, mdia))
    return ftyp + mdat + moov
