"""WAV durations (against files the standard library's `wave` module writes), the demo voice's
silence, upload durations, transcript layouts, the usage read from transcription answers, the
Gemini transcription translation, and the audio credit holds."""
from __future__ import annotations

import base64
import io
import struct
import wave

import pytest

from chalicelib.api.multipart import Part
from chalicelib.billing import cost, estimate
from chalicelib.media import audio, wav
from chalicelib.providers import transcript
from chalicelib.providers.base import AudioUpload, Usage
from chalicelib.providers.gemini import translate as gemini
from chalicelib.providers.openai_compat.translate import transcription_usage


def stdlib_wav(seconds: float, rate: int, channels: int, width: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(b"\x01" * round(seconds * rate) * channels * width)
    return out.getvalue()


def with_codec(data: bytes, codec: int) -> bytes:
    return data[:20] + struct.pack("<H", codec) + data[22:]


def with_chunk_before_data(data: bytes, chunk: bytes) -> bytes:
    """A LIST chunk (odd-sized, so padded) between fmt and data, as many encoders write."""
    extra = b"LIST" + struct.pack("<I", len(chunk)) + chunk + b"\x00" * (len(chunk) % 2)
    return data[:12] + data[12:36] + extra + data[36:]


@pytest.mark.parametrize("data, expected", [
    (stdlib_wav(2.5, 16_000, 1, 2), 2.5),
    (stdlib_wav(1.0, 44_100, 2, 2), 1.0),
    (stdlib_wav(0.75, 8_000, 1, 1), 0.75),
    (stdlib_wav(3.0, 48_000, 2, 3), 3.0),
    (with_chunk_before_data(stdlib_wav(2.0, 8_000, 1, 2), b"INFOISFT3"), 2.0),
    (stdlib_wav(4.0, 8_000, 1, 2)[:44 + 16_000], 1.0),  # cut short: what the file holds
    (with_codec(stdlib_wav(1.0, 8_000, 1, 2), 3), 1.0),  # float PCM: same layout
    (with_codec(stdlib_wav(1.0, 8_000, 1, 2), 0x55), None),  # MP3 in a WAV: its header rate says nothing exact
    (b"ID3\x04" + b"\x00" * 100, None),
    (b"RIFF\x00\x00\x00\x00WAVE", None),  # no chunks at all
    (b"", None),
])
def test_wav_duration(data, expected):
    assert wav.duration(data) == expected


@pytest.mark.parametrize("seconds", [0.05, 1.0, 2.35])
def test_silence_is_a_valid_wav_of_that_length(seconds):
    data = wav.silence(seconds)
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 1, 8_000)
        frames = w.readframes(w.getnframes())
    assert len(frames) == round(seconds * 8_000) and set(frames) == {0x80}
    assert wav.duration(data) == pytest.approx(seconds, abs=1 / 8_000)


def test_upload_seconds_exact_for_wav_estimated_otherwise():
    assert audio.seconds(stdlib_wav(1.5, 16_000, 1, 2)) == (1.5, False)
    assert audio.seconds(b"\xff\xfb" + b"\x00" * 31_998) == (2.0, True)  # 32 KB at 128 kbit/s


@pytest.mark.parametrize("content_type, filename, expected", [
    ("audio/wav", "x", "audio/wav"),
    ("audio/x-wav", None, "audio/wav"),
    ("application/octet-stream", "talk.mp3", "audio/mpeg"),
    (None, "talk.flac", "audio/flac"),
    (None, "talk.wav", "audio/wav"),
    ("audio/ogg; codecs=opus", "a.bin", "audio/ogg"),
    (None, None, "application/octet-stream"),
])
def test_media_type(content_type, filename, expected):
    assert audio.media_type(content_type, filename) == expected


@pytest.mark.parametrize("fmt, expected", [
    ("text", "Hi there.\n"),
    ("srt", "1\n00:00:00,000 --> 01:02:05,250\nHi there.\n\n"),
    ("vtt", "WEBVTT\n\n00:00:00.000 --> 01:02:05.250\nHi there.\n\n"),
])
def test_transcript_text_layouts(fmt, expected):
    body, content_type = transcript.render("Hi there.", response_format=fmt, task="transcriptions", language=None,
                                           seconds=3725.25)
    assert (body.decode(), content_type) == (expected, transcript.TEXT)


def test_transcript_json_layouts():
    import orjson

    body, _ = transcript.render("Hi.", response_format="json", task="transcriptions", language="de", seconds=2.2)
    assert orjson.loads(body) == {"text": "Hi.", "usage": {"type": "duration", "seconds": 3}}
    body, _ = transcript.render("Hi.", response_format="verbose_json", task="translations", language="de", seconds=2.2)
    data = orjson.loads(body)
    assert (data["task"], data["language"], data["duration"], data["segments"][0]["end"]) == (
        "translate", "english", 2.2, 2.2)


@pytest.mark.parametrize("content, content_type, expected", [
    (b'{"text": "a", "usage": {"type": "duration", "seconds": 7}}', "application/json", Usage(seconds=7.0)),
    (b'{"text": "a", "duration": 6.5, "segments": []}', "application/json", Usage(seconds=6.5)),
    (b'{"text": "a", "usage": {"type": "tokens", "input_tokens": 30, "output_tokens": 5, "total_tokens": 35}}',
     "application/json", Usage(input_tokens=30, output_tokens=5, seconds=2.0, estimated=True)),
    (b'{"text": "a"}', "application/json", Usage(seconds=2.0, estimated=True)),
    (b'{"text": "a", "duration": true}', "application/json", Usage(seconds=2.0, estimated=True)),
    (b"a\n", "text/plain; charset=utf-8", Usage(seconds=2.0, estimated=True)),
    (b"not json", "application/json", Usage(seconds=2.0, estimated=True)),
])
def test_transcription_usage(content, content_type, expected):
    assert transcription_usage(content, content_type, 2.0, True) == expected


def _upload(task: str, **fields: str | None) -> AudioUpload:
    file = Part("file", b"RIFFdata", "talk.wav", None)
    return AudioUpload(task, (file,), file, "json", fields.get("prompt"), fields.get("language"), 1.0, False)


def test_gemini_transcription_request():
    request = gemini.transcription_request(_upload("transcriptions", prompt="Names: Zoë.", language="de"))
    (content,) = request["contents"]
    instruction, audio_part = content["parts"]
    assert instruction["text"].startswith(gemini.TRANSCRIBE)
    assert "'de'" in instruction["text"] and instruction["text"].endswith("Names: Zoë.")
    assert audio_part == {"inlineData": {"mimeType": "audio/wav", "data": base64.b64encode(b"RIFFdata").decode()}}
    translated = gemini.transcription_request(_upload("translations", language="de"))
    assert translated["contents"][0]["parts"][0]["text"] == gemini.TRANSLATE  # the language is English, whatever it was


def test_gemini_transcription_answer():
    data = {"candidates": [{"content": {"parts": [{"text": "thinking", "thought": True}, {"text": " Hallo. \n"}]}}],
            "usageMetadata": {"promptTokenCount": 40, "candidatesTokenCount": 3}}
    assert gemini.transcription_text(data, "google") == ("Hallo.", Usage(input_tokens=40, output_tokens=3))
    with pytest.raises(Exception) as caught:
        gemini.transcription_text({"promptFeedback": {"blockReason": "SAFETY"}}, "google")
    assert "SAFETY" in str(caught.value) and caught.value.status == 502


PER_SECOND = cost.Rate("demo", "whisper", "audio", input_rate=0, output_rate=0, second_rate=3_000_000)
PER_TOKEN = cost.Rate("openai", "gpt-4o-transcribe", "audio", input_rate=2_500, output_rate=10_000,
                      max_output_tokens=2_000)


@pytest.mark.parametrize("data, seconds", [
    (stdlib_wav(2.5, 16_000, 1, 2), 2.5),
    (stdlib_wav(61.3, 8_000, 1, 1), 61.3),
])
def test_transcription_hold_covers_a_wav_charge(data, seconds):
    hold = cost.reservation(PER_SECOND, "transcription", {"file": data})
    assert hold >= cost.charge(PER_SECOND, Usage(seconds=seconds))
    assert hold <= cost.charge(PER_SECOND, Usage(seconds=seconds + 1))  # and not much more


def test_transcription_hold_of_compressed_audio_is_its_size_at_the_lowest_bitrate():
    data = b"\xff\xfb" + b"\x00" * 49_998
    assert cost.reservation(PER_SECOND, "transcription", {"file": data}) == 100 * 3_000_000
    seconds = 50_000 // estimate.MIN_MEDIA_BYTES_PER_SECOND
    tokens_in = seconds * estimate.AUDIO_TOKENS_PER_SECOND + len("Zoë".encode()) + estimate.TOKENS_PER_REQUEST
    assert cost.reservation(PER_TOKEN, "transcription", {"file": data, "prompt": "Zoë"}) == (
        tokens_in * 2_500 + 2_000 * 10_000)


def test_speech_hold_is_its_exact_charge():
    rate = cost.Rate("openai", "tts-1", "audio", input_rate=15_000, output_rate=0)
    text = "Hello, wörld!"
    assert cost.reservation(rate, "speech", {"input": text}) == cost.charge(rate, Usage(input_tokens=len(text)))
