"""Ceilings, in tokens, of what a provider can bill for a request body (issue 10).

The credit hold is taken before the call and must never be smaller than the charge, whatever
a client puts in the body, so every figure here is an upper bound, not a guess. Text is
measured over the whole body rather than over a list of billed fields, so a field nobody
thought of (tool-call arguments, schemas, predictions, ...) is counted anyway; only media
payloads at the places a provider reads them as media are priced as media instead.

Pure and fast: it runs on every billed call. Nothing here raises on a malformed body (the
request is refused elsewhere) and no result exceeds CLAMP.

What a body cannot bound, and is not held for: a file or video by URL or file id (its size is
not in the body; an image by URL is held at the image ceiling), what server-side tools add
(web search results, code execution), text a PDF's compressed streams expand to beyond its
size, and output beyond DEFAULT_MAX_OUTPUT when neither the request nor the rate names a limit.
"""
from __future__ import annotations

import base64
import binascii
import math
import re
from typing import Any

import orjson

# Holds are SQLite INTEGERs (signed 64-bit) and are summed with balances and other holds.
CLAMP = 2**62

# Text. Byte-level BPE tokenizers (OpenAI, Anthropic, Llama) and SentencePiece with byte
# fallback (Gemini) never emit more than one token per UTF-8 byte, so bytes bound tokens in any
# script (CJK is 3 bytes a character, emoji 4); plain English runs ~4 bytes a token, so it is
# held ~4x. The body is measured as compact JSON, so keys, quotes and punctuation are in.
STRUCTURE_TOKENS = 2  # a provider may lay JSON out again, with a newline and an indent per element
TOKENS_PER_MESSAGE = 8  # the role markers and separators a chat template puts around each message
TOKENS_PER_REQUEST = 8  # the priming of the reply
TOKENS_PER_INPUT = 2  # an embedding input's start and end markers, for models that bill them
TOOL_PREAMBLE_TOKENS = 600  # Anthropic's tool-use system prompt: 346 tokens, 499 with computer use
BUILTIN_TOOL_TOKENS = 800  # definitions behind a built-in tool: bash 245, text editor 700, computer 735

# Images, per image whatever its size or detail. The dearest documented case is OpenAI's
# gpt-4o-mini at high detail: 2,833 base + 5,667 a 512 px tile, at most 8 tiles (768x2048 after
# its resizing) = 48,169. Others are far below: gpt-4o 1,445, patch-billed models 1,536 x 2.46,
# Anthropic ~1,600 (resized to 1.15 MP), Gemini 258 a 768 px tile (8000x8000 px = 31,218).
IMAGE_TOKENS = 2_833 + 8 * 5_667

# Audio and video are billed by duration; a payload's duration is at most its size over the
# lowest bitrate a provider decodes. 4 kbit/s is below MP3 (8), Opus (6) and AMR-NB (4.75); PCM
# WAV is read at the byte rate of its own header, which is what the decoder plays it at.
MIN_MEDIA_BYTES_PER_SECOND = 500
AUDIO_TOKENS_PER_SECOND = 32  # Gemini's documented rate; OpenAI's audio models use ~10
VIDEO_TOKENS_PER_SECOND = 300  # Gemini documents 263 a second (a frame a second and its sound)
_WAV_TYPES = frozenset({"wav", "wave", "x-wav", "vnd.wave"})
_WAV_HEADER_CHARS = 4_096  # base64 of the first 3 KB: where the fmt chunk is in any real file

# A file may be read as text (one token a byte, as above) and each PDF page also as an image.
_PDF_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")

# Generated images: gpt-image-1 at high quality costs 4,160 output tokens at 1024x1024 and 6,240
# at 1536x1024, ~1 a 252 pixels; Gemini's image models 1,290 to 2,000. Unknown sizes get the
# default, explicit ones 1 token a 200 pixels when that is more.
IMAGE_OUTPUT_TOKENS = 8_192
PIXELS_PER_IMAGE_TOKEN = 200
_SIZE = re.compile(r"(\d{1,6})\s*[xX]\s*(\d{1,6})")

# Video: what a provider makes when the request names no duration is at most this (Sora 2: 4 s by
# default, 12 s at most; Veo: 8 s), so an unnamed duration is held for the longest clip offered.
MAX_VIDEO_SECONDS = 25

DEFAULT_MAX_OUTPUT = 4096  # when neither the request nor the rate names an output limit


def count(value: Any) -> int | None:
    """A positive JSON number as the whole count a provider would read it as, at most CLAMP."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return None
    if isinstance(value, float):
        return math.ceil(value) if value < CLAMP else CLAMP
    return min(value, CLAMP)


def video_seconds(value: Any) -> int:
    """The seconds of video a request is billed at most: the duration it asks for (a number, or
    a numeric string as OpenAI's API takes it), rounded up, else the longest a provider makes."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            value = None
    return count(value) or MAX_VIDEO_SECONDS


# -- input ----------------------------------------------------------------------------------


def input_tokens(kind: str, body: dict[str, Any]) -> int:
    """The most input tokens the request can be billed."""
    if kind == "embedding":
        return _embedding_tokens(body.get("input"))
    messages = body.get("messages")
    messages = messages if isinstance(messages, list) else []
    payload_chars, media = _media(messages)
    tools = body.get("tools") or body.get("functions")
    overhead = TOKENS_PER_REQUEST + TOKENS_PER_MESSAGE * len(messages)
    if isinstance(tools, list) and tools:
        builtin = sum(1 for t in tools if isinstance(t, dict) and t.get("type", "function") != "function")
        overhead += TOOL_PREAMBLE_TOKENS + BUILTIN_TOOL_TOKENS * builtin
    return json_tokens(body) - payload_chars + media + overhead


def json_tokens(value: Any) -> int:
    """Tokens of a JSON value rendered as text: its compact JSON bytes plus layout per element."""
    try:
        raw = orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):  # ints beyond 64 bits, nesting beyond 255, surrogates
        return _walk_tokens(value)
    return len(raw) + STRUCTURE_TOKENS * (raw.count(b",") + raw.count(b"{") + raw.count(b"["))


def _walk_tokens(value: Any) -> int:
    """json_tokens without dumping the whole value, iteratively (no recursion limit)."""
    size, stack = 0, [value]
    while stack:
        item = stack.pop()
        size += STRUCTURE_TOKENS + 1  # its comma or bracket
        if isinstance(item, str):
            size += _string_bytes(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                size += _string_bytes(str(key)) + 1
                stack.append(child)
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            size += item.bit_length() // 3 + 2  # decimal digits <= 0.302 a bit, and a sign
        else:
            size += 24  # the longest float repr; true, false, null
    return size


def _string_bytes(text: str) -> int:
    """A string's JSON bytes, quotes and escapes in; 6 a character (a \\uXXXX escape) when
    orjson refuses it (lone surrogates)."""
    try:
        return len(orjson.dumps(text))
    except orjson.JSONEncodeError:
        return 6 * len(text) + 2


def _embedding_tokens(value: Any, top: bool = True) -> int:
    """Strings by their bytes, token arrays by their length (each entry is a token billed)."""
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass")) + TOKENS_PER_INPUT
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return len(value)
    if top and isinstance(value, list):
        return sum(_embedding_tokens(v, top=False) for v in value)
    return json_tokens(value)


def _media(messages: list[Any]) -> tuple[int, int]:
    """(characters of media payloads inside the body's JSON, tokens those media can cost).

    Only content parts of messages are media: a data URL anywhere else (a tool argument, a
    text part) is text to the provider and is counted as text."""
    chars = tokens = 0
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else ():
            if not isinstance(part, dict) or part.get("type") == "text":  # the common case, first
                continue
            found = _part(part)
            if found is not None:
                chars += found[0]
                tokens += found[1]
    return chars, tokens


def _part(part: dict[str, Any]) -> tuple[int, int] | None:
    """A content part's media payload length and token ceiling; None for anything else."""
    kind = part.get("type")
    if kind in ("image_url", "input_image"):  # OpenAI chat and Responses: by URL or data URL
        ref = part.get("image_url")
        url = ref.get("url") if isinstance(ref, dict) else ref
        return _chars(url), IMAGE_TOKENS
    if kind == "input_audio":
        audio = part.get("input_audio")
        data = audio.get("data") if isinstance(audio, dict) else None
        fmt = audio.get("format") if isinstance(audio, dict) else None
        return (len(data), _audio_tokens(data, fmt if isinstance(fmt, str) else "")) if isinstance(data, str) else None
    if kind in ("file", "input_file"):  # OpenAI chat, Responses
        file = part.get("file") if kind == "file" else part
        data = _data_url(file.get("file_data")) if isinstance(file, dict) else None
        return (len(file["file_data"]), _media_tokens(*data)) if data else None
    if kind in ("image", "document"):  # Anthropic blocks
        source = part.get("source")
        if not isinstance(source, dict):
            return None
        if kind == "image":
            return _chars(source.get("data")) + _chars(source.get("url")), IMAGE_TOKENS
        data, media_type = source.get("data"), source.get("media_type")
        if source.get("type") == "base64" and isinstance(data, str) and isinstance(media_type, str):
            return len(data), _media_tokens(media_type, data)
        return None  # a text document is text; by URL or file id it is not bounded (see above)
    inline = part.get("inlineData") or part.get("inline_data")  # Gemini parts
    if isinstance(inline, dict) and isinstance(inline.get("data"), str):
        mime = inline.get("mimeType") or inline.get("mime_type")
        return len(inline["data"]), _media_tokens(mime if isinstance(mime, str) else "", inline["data"])
    return None


def _chars(value: Any) -> int:
    return len(value) if isinstance(value, str) else 0


def _data_url(value: Any) -> tuple[str, str] | None:
    """(media type, base64 payload) of a `data:<type>;base64,<payload>` URL."""
    if not isinstance(value, str) or not value.startswith("data:"):
        return None
    head, comma, payload = value.partition(",")
    return (head[5:-7], payload) if comma and head.endswith(";base64") else None


def _media_tokens(media_type: str, b64: str) -> int:
    media_type = media_type.lower()
    if media_type.startswith("image/"):
        return IMAGE_TOKENS
    if media_type.startswith("audio/"):
        return _audio_tokens(b64, media_type[6:])
    if media_type.startswith("video/"):
        return -(-_decoded_bytes(b64) // MIN_MEDIA_BYTES_PER_SECOND) * VIDEO_TOKENS_PER_SECOND
    return _file_tokens(b64, media_type)


def _decoded_bytes(b64: str) -> int:
    return len(b64) * 3 // 4  # padding and line breaks only make the real size smaller


def _audio_tokens(b64: str, fmt: str) -> int:
    rate = _wav_byte_rate(b64) if fmt.lower().split(";")[0] in _WAV_TYPES else MIN_MEDIA_BYTES_PER_SECOND
    return -(-_decoded_bytes(b64) // rate) * AUDIO_TOKENS_PER_SECOND


def _wav_byte_rate(b64: str) -> int:
    """Bytes a second a decoder plays this WAV at: its PCM header's rate, the compressed-audio
    floor for other codecs, and 1 when the header is unreadable."""
    head = b64[:_WAV_HEADER_CHARS]
    try:
        raw = base64.b64decode(head[: len(head) - len(head) % 4])
    except (binascii.Error, ValueError):
        return 1
    return media_byte_rate(raw)


def media_byte_rate(head: bytes) -> int:
    """The lowest byte rate a decoder can play a file starting with `head` at (see above)."""
    # Imported here: audio uploads only, not on the path of a chat call (cold start).
    from chalicelib.media import wav

    if not wav.is_wav(head):
        return MIN_MEDIA_BYTES_PER_SECOND  # not a WAV whatever its label: the decoder sniffs it
    found = wav.fmt(head)
    if found is None:
        return 1
    return found.play_rate if found.pcm else MIN_MEDIA_BYTES_PER_SECOND


def audio_seconds(data: bytes) -> int:
    """The most seconds an uploaded audio file can last (the hold of a per-second call)."""
    return -(-len(data) // media_byte_rate(data[:_WAV_HEADER_CHARS]))


def _file_tokens(b64: str, media_type: str) -> int:
    """A file read as text (one token a byte) and as images: each page of a PDF, else once."""
    pages = 1
    if media_type.startswith("application/pdf"):
        try:
            pages = max(1, len(_PDF_PAGE.findall(base64.b64decode(b64))))
        except (binascii.Error, ValueError):
            pass  # the provider cannot read it either
    return _decoded_bytes(b64) + pages * IMAGE_TOKENS


# -- output ---------------------------------------------------------------------------------


def chat_output_tokens(model_limit: Any, body: dict[str, Any]) -> int:
    """The most output tokens of a chat call: the limit asked (at most the model's, when known),
    else the model's, else the default; for each of `n` choices; twice when audio is asked for
    (spoken and written answer); plus a prediction, whose rejected tokens are billed as output."""
    limit = count(model_limit)
    asked = max((c for c in (count(body.get("max_completion_tokens")), count(body.get("max_tokens"))) if c),
                default=None)
    tokens = (min(asked, limit) if limit else asked) if asked else (limit or DEFAULT_MAX_OUTPUT)
    modalities = body.get("modalities")
    if isinstance(modalities, list) and "audio" in modalities:
        tokens *= 2
    prediction = body.get("prediction")
    if prediction is not None:
        tokens += json_tokens(prediction)
    return min(tokens * (count(body.get("n")) or 1), CLAMP)


def image_output_tokens(body: dict[str, Any]) -> int:
    """The most output tokens of one generated image of the requested size."""
    size = body.get("size")
    found = _SIZE.fullmatch(size.strip()) if isinstance(size, str) else None
    if not found:
        return IMAGE_OUTPUT_TOKENS
    pixels = int(found[1]) * int(found[2])
    return max(IMAGE_OUTPUT_TOKENS, -(-pixels // PIXELS_PER_IMAGE_TOKEN))
