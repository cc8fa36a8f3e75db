"""The credit hold is a true upper bound of what a provider can bill (issue 10), table-driven.

Each case adds one billable part to a small chat body and checks the hold grows by at least
what a provider could bill for that part, at the dearest input rate (or the output rate)."""
from __future__ import annotations

import base64
import math
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.billing import cost, estimate

RATE = cost.Rate("p", "m", "chat", input_rate=100, output_rate=400, cache_read_rate=10, cache_write_rate=125,
                 image_rate=50_000, second_rate=1_000, max_output_tokens=1_000)
DEAREST_INPUT = 125
BASE: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}
K = 100_000  # a big part: 100 kB of it


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def wav(seconds: int, sample_rate: int = 16_000, block_align: int = 2, byte_rate: int | None = None) -> bytes:
    """A PCM WAV of `seconds` of silence whose header may state a byte rate of its own."""
    data = b"\0" * (seconds * sample_rate * block_align)
    fmt = struct.pack("<HHIIHH", 1, 1, sample_rate, byte_rate or sample_rate * block_align, block_align, 16)
    return b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt \
        + b"data" + struct.pack("<I", len(data)) + data


def pdf(pages: int) -> bytes:
    """Just enough PDF for the page count a provider renders."""
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(pages))
    objects = [b"1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj",
               b"2 0 obj <</Type /Pages /Kids [" + kids + b"] /Count %d>> endobj" % pages]
    objects += [b"%d 0 obj <</Type/Page /Parent 2 0 R>> endobj" % (3 + i) for i in range(pages)]
    return b"%PDF-1.7\n" + b"\n".join(objects) + b"\n%%EOF"


def user(*parts: dict[str, Any]) -> dict[str, Any]:
    return {**BASE, "messages": [{"role": "user", "content": list(parts)}]}


def with_messages(*messages: dict[str, Any]) -> dict[str, Any]:
    return {**BASE, "messages": [*BASE["messages"], *messages]}


def hold(body: dict[str, Any], kind: str = "chat", rate: cost.Rate = RATE) -> int:
    return cost.reservation(rate, kind, body)


# -- every billable part of a chat body grows the hold by at least what it can be billed ----------

CALL = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "a" * 400_000}}
SCHEMA = {"type": "object", "properties": {"q": {"type": "string", "description": "d" * K}}}


@pytest.mark.parametrize(
    ("case", "body", "tokens"),
    [
        # the attack: 400 kB of assistant tool-call arguments
        ("tool_calls arguments", with_messages({"role": "assistant", "content": None, "tool_calls": [CALL]}), 400_000),
        ("tool_calls function name", with_messages({"role": "assistant", "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "n" * K, "arguments": "{}"}}]}), K),
        ("legacy function_call",
         with_messages({"role": "assistant", "function_call": {"name": "f", "arguments": "a" * K}}), K),
        ("tool result", with_messages({"role": "tool", "tool_call_id": "call_1", "content": "r" * K}), K),
        ("function result", with_messages({"role": "function", "name": "f", "content": "r" * K}), K),
        ("message name", with_messages({"role": "user", "name": "n" * K, "content": "x"}), K),
        ("assistant refusal", with_messages({"role": "assistant", "refusal": "no" * (K // 2)}), K),
        ("refusal part", with_messages({"role": "assistant", "content": [{"type": "refusal", "refusal": "r" * K}]}), K),
        ("text parts", user({"type": "text", "text": "t" * K}, {"type": "text", "text": "u" * K}), 2 * K),
        ("system message", with_messages({"role": "system", "content": "s" * K}), K),
        ("tools", {**BASE, "tools": [{"type": "function", "function": {"name": "f", "parameters": SCHEMA}}]}, K),
        ("legacy functions", {**BASE, "functions": [{"name": "f", "description": "d" * K}]}, K),
        ("tool_choice", {**BASE, "tool_choice": {"type": "function", "function": {"name": "f" * K}}}, K),
        ("response_format", {**BASE, "response_format": {"type": "json_schema",
                                                         "json_schema": {"name": "s", "schema": SCHEMA}}}, K),
        ("prediction", {**BASE, "prediction": {"type": "content", "content": "p" * K}}, K),
        ("a field nobody listed", {**BASE, "some_future_field": {"deep": ["w" * K]}}, K),
        # bytes, not characters: a byte-level BPE may spend a token a byte
        ("CJK text", user({"type": "text", "text": "中" * K}), 3 * K),
        ("emoji", with_messages({"role": "user", "content": "😀" * K}), 4 * K),
        ("mixed unicode", with_messages({"role": "user", "content": "é中😀a" * (K // 4)}), 10 * (K // 4)),
        ("CJK in a schema key", {**BASE, "response_format": {"type": "json_schema", "json_schema": {
            "name": "s", "schema": {"properties": {"键" * K: {"type": "string"}}}}}}, 3 * K),
    ],
)
def test_every_billed_part_grows_the_hold(case, body, tokens):
    assert hold(body) - hold(BASE) >= tokens * DEAREST_INPUT, case


def test_a_prediction_is_also_held_as_output():
    """Rejected prediction tokens are billed as completion tokens, beyond max_tokens."""
    body = {**BASE, "prediction": {"type": "content", "content": "p" * K}}
    assert hold(body) - hold(BASE) >= K * (DEAREST_INPUT + RATE.output_rate)


def test_the_old_attack_is_now_held_in_full():
    """13 parallel calls with 400 kB of arguments each: each hold covers its own usage."""
    body = with_messages({"role": "assistant", "content": None, "tool_calls": [CALL]})
    assert hold(body) >= 400_000 * DEAREST_INPUT + 10 * RATE.output_rate


def test_plain_english_is_held_at_about_four_times():
    """~4 bytes a token in English: the bound holds it at ~4x and no worse than 5x."""
    text = "The quick brown fox jumps over the lazy dog. " * 2_000  # ~20,000 tokens in o200k/cl100k
    tokens = estimate.input_tokens("chat", {"messages": [{"role": "user", "content": text}]})
    assert 3.5 * 20_000 <= tokens <= 5 * 20_000


# -- media: priced as media, never as the text of their base64 -----------------------------------

PNG = "data:image/png;base64," + "A" * 1_000_000  # 750 kB of image
IMAGE_PARTS = [
    {"type": "image_url", "image_url": {"url": "https://example.test/cat.png", "detail": "high"}},
    {"type": "image_url", "image_url": {"url": PNG}},
    {"type": "image_url", "image_url": PNG},
    {"type": "input_image", "image_url": PNG},
    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "A" * 1_000_000}},
    {"type": "image", "source": {"type": "url", "url": "https://example.test/cat.png"}},
    {"inlineData": {"mimeType": "image/png", "data": "A" * 1_000_000}},
    {"inline_data": {"mime_type": "image/jpeg", "data": "A" * 1_000_000}},
]


@pytest.mark.parametrize("part", IMAGE_PARTS)
def test_an_image_is_held_at_the_per_image_ceiling(part):
    grown = estimate.input_tokens("chat", user(part, part)) - estimate.input_tokens("chat", user())
    # OpenAI gpt-4o-mini high detail at the largest size, 48,169 tokens, covers every provider's image
    assert 2 * 48_169 <= grown < 2 * 48_169 + 1_000  # the base64 is not also counted as text


@pytest.mark.parametrize(
    ("case", "where"),
    [
        ("a text part", lambda url: user({"type": "text", "text": url})),
        ("tool arguments", lambda url: with_messages({"role": "assistant", "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": url}}]})),
        ("a message's string content", lambda url: with_messages({"role": "user", "content": url})),
        ("a tool schema", lambda url: {**BASE, "tools": [{"type": "function", "function": {
            "name": "f", "parameters": {"type": "object", "inlineData": {"mimeType": "image/png", "data": url}}}}]}),
    ],
)
def test_media_outside_a_content_part_is_text(case, where):
    """A data URL is an image only where a provider reads one; anywhere else it is tokenized."""
    assert estimate.input_tokens("chat", where(PNG)) >= len(PNG), case


def test_audio_is_held_by_its_longest_possible_duration():
    ten_seconds = b64(wav(10))
    part = {"type": "input_audio", "input_audio": {"data": ten_seconds, "format": "wav"}}
    grown = estimate.input_tokens("chat", user(part)) - estimate.input_tokens("chat", user())
    assert 10 * 32 <= grown < len(ten_seconds) // 10  # Gemini's 32 tokens a second; not the base64 as text


@pytest.mark.parametrize(
    ("case", "data", "fmt", "seconds"),
    [
        # a header whose two rates disagree: the lower one is believed
        ("wav with a low byte rate", wav(1, byte_rate=1), "wav", 32_000),
        ("wav at 8 samples a second", wav(1_000, sample_rate=8, block_align=2), "wav", 1_000),
        # 16 kB of MP3 at its lowest bitrate, 8 kbit/s, is 16 s
        ("mp3", b"\xff\xfb" + b"\0" * 16_000, "mp3", 16),
        ("wav label on an mp3", b"\xff\xfb" + b"\0" * 16_000, "wav", 16),
        ("opus at 6 kbit/s", b"OggS" + b"\0" * 7_500, "ogg", 10),
    ],
)
def test_audio_bounds_hold_for_low_bitrates_and_lying_headers(case, data, fmt, seconds):
    part = {"type": "input_audio", "input_audio": {"data": b64(data), "format": fmt}}
    grown = estimate.input_tokens("chat", user(part)) - estimate.input_tokens("chat", user())
    assert grown >= seconds * 32, case


def test_gemini_audio_and_video_parts():
    audio = {"inlineData": {"mimeType": "audio/mp3", "data": b64(b"\0" * 16_000)}}
    video = {"inlineData": {"mimeType": "video/mp4", "data": b64(b"\0" * 16_000)}}
    base = estimate.input_tokens("chat", user())
    assert estimate.input_tokens("chat", user(audio)) - base >= 16 * 32
    assert estimate.input_tokens("chat", user(video)) - base >= 16 * 263  # Gemini: 263 tokens a second


@pytest.mark.parametrize(
    ("case", "part", "tokens"),
    [
        # each page read as text (at most a token a byte of the file) and as an image
        ("pdf, 3 pages", {"type": "file", "file": {"filename": "a.pdf",
                                                  "file_data": "data:application/pdf;base64," + b64(pdf(3))}},
         len(pdf(3)) + 3 * 1_600),
        ("pdf, 40 pages", {"type": "file", "file": {"file_data": "data:application/pdf;base64," + b64(pdf(40))}},
         40 * 1_600),
        ("text file", {"type": "file", "file": {"file_data": "data:text/plain;base64," + b64(b"w" * K)}}, K),
        ("responses input_file", {"type": "input_file", "file_data": "data:text/plain;base64," + b64(b"w" * K)}, K),
        ("anthropic document", {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                                               "data": b64(pdf(5))}}, 5 * 1_600),
        ("anthropic text document", {"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                                                    "data": "w" * K}}, K),
        ("gemini inline pdf", {"inlineData": {"mimeType": "application/pdf", "data": b64(pdf(7))}}, 7 * 1_600),
    ],
)
def test_files_are_held_by_size_and_pages(case, part, tokens):
    assert estimate.input_tokens("chat", user(part)) - estimate.input_tokens("chat", user()) >= tokens, case


def test_tools_add_the_providers_own_tool_prompts():
    """Anthropic adds a tool-use system prompt (346 tokens) and a built-in tool's definition
    (computer use: 735 tokens, with a 499-token prompt) the body does not show."""
    function = {**BASE, "tools": [{"type": "function", "function": {"name": "f"}}]}
    computer = {**BASE, "tools": [{"type": "computer_20250124", "name": "computer", "display_width_px": 1024}]}
    assert estimate.input_tokens("chat", function) - estimate.input_tokens("chat", BASE) >= 346
    assert estimate.input_tokens("chat", computer) - estimate.input_tokens("chat", BASE) >= 499 + 735


# -- output ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("extra", "tokens"),
    [
        ({"max_tokens": 10}, 10),
        ({"max_completion_tokens": 7, "n": 3}, 21),
        ({"max_tokens": 5, "max_completion_tokens": 9}, 9),  # either may be the one a provider reads
        ({"max_tokens": 10**6}, 1_000),  # the model cannot write more than its limit
        ({}, 1_000),  # nothing asked: the model's limit
        ({"n": 4}, 4_000),
        ({"max_tokens": 10, "modalities": ["text", "audio"]}, 20),  # spoken and written
        ({"max_tokens": 2.5}, 3),  # a fraction is read as its ceiling
        ({"max_tokens": "x", "n": "y"}, 1_000),  # refused elsewhere; here: the model's limit, once
        ({"max_tokens": True}, 1_000),
        ({"max_tokens": -5, "n": 0}, 1_000),
        ({"max_tokens": float("nan"), "n": float("inf")}, 1_000 * estimate.CLAMP),  # clamped below
    ],
)
def test_chat_output(extra, tokens):
    body = {"messages": [{"role": "user", "content": "x"}], **extra}
    assert estimate.chat_output_tokens(1_000, body) == min(tokens, estimate.CLAMP)


@pytest.mark.parametrize(("limit", "tokens"),
                         [(None, estimate.DEFAULT_MAX_OUTPUT), ("junk", estimate.DEFAULT_MAX_OUTPUT), (64_000, 64_000)])
def test_chat_output_without_a_limit_asked(limit, tokens):
    assert estimate.chat_output_tokens(limit, {"messages": []}) == tokens


def test_output_is_held_at_the_output_rate_for_every_choice():
    one, five = hold({**BASE, "max_tokens": 100, "n": 1}), hold({**BASE, "max_tokens": 100, "n": 5})
    assert five - one == 4 * 100 * RATE.output_rate


# -- embeddings and images ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("value", "tokens"),
    [
        ("w" * K, K),
        ("中" * K, 3 * K),
        (["a" * K, "b" * K], 2 * K),
        (list(range(5_000)), 5_000),  # a token array: exactly its tokens
        ([list(range(300)), list(range(200))], 500),
        ([[1, 2], "abc", [[3]]], 5),  # mixed garbage: still a bound
    ],
)
def test_embedding_input(value, tokens):
    assert estimate.input_tokens("embedding", {"model": "e", "input": value}) >= tokens
    assert hold({"model": "e", "input": value}, "embedding") >= tokens * DEAREST_INPUT


def test_token_arrays_are_held_exactly():
    assert estimate.input_tokens("embedding", {"input": [[1] * 7, [2] * 3]}) == 10


@pytest.mark.parametrize(
    ("body", "images", "tokens_each"),
    [
        ({"prompt": "a cat"}, 1, 8_192),  # gpt-image-1 high quality: up to 6,240 output tokens
        ({"prompt": "a cat", "n": 3, "size": "1536x1024", "quality": "high"}, 3, 8_192),
        ({"prompt": "a cat", "n": 2, "size": "4096x4096"}, 2, -(-4096 * 4096 // 200)),  # sizes beyond today's
        ({"prompt": "a cat", "size": "auto", "n": "x"}, 1, 8_192),
    ],
)
def test_image_generation_holds_every_image(body, images, tokens_each):
    expected_output = images * (RATE.image_rate + tokens_each * RATE.output_rate)
    assert hold(body, "image") - estimate.input_tokens("image", body) * DEAREST_INPUT == expected_output


def test_an_image_prompt_is_held_by_its_bytes():
    body = {"prompt": "猫" * K}
    assert hold(body, "image") - hold({"prompt": ""}, "image") >= 3 * K * DEAREST_INPUT


# -- absurd values and garbage never raise nor overflow ---------------------------------------------

DEAR = cost.Rate("p", "m", "chat", input_rate=10**15, output_rate=10**15, cache_write_rate=10**15,
                 image_rate=10**15, max_output_tokens=2**63)


@pytest.mark.parametrize(
    "body",
    [
        {"messages": [], "max_tokens": 2**63, "n": 10**9},
        {"messages": [], "max_completion_tokens": 10**400, "n": 10**400},
        {"messages": [], "max_tokens": float("inf"), "n": 1e308},
        {"prompt": "x", "n": 10**30, "size": "999999x999999"},
        {"input": [[2**70] * 3]},
        {"messages": [{"role": "user", "content": "x" * K}], "max_tokens": 2**62},
    ],
)
@pytest.mark.parametrize("kind", ["chat", "embedding", "image"])
def test_absurd_sizes_are_clamped(body, kind):
    assert 0 <= hold(body, kind, DEAR) <= estimate.CLAMP


GARBAGE_MESSAGES: list[Any] = [
    None, 1, "x", [], [[]], {"content": 5}, {"content": [None, 1, "x", [], {}]},
    {"content": [{"type": "image_url"}, {"type": "image_url", "image_url": 5},
                 {"type": "image_url", "image_url": {"url": 5}}]},
    {"content": [{"type": "input_audio"}, {"type": "input_audio", "input_audio": "x"},
                 {"type": "input_audio", "input_audio": {"data": 5, "format": 7}},
                 {"type": "input_audio", "input_audio": {"data": "not base64!", "format": "wav"}},
                 {"type": "input_audio", "input_audio": {"data": "UklGRgAAAABXQVZF", "format": "wav"}},
                 {"type": "input_audio", "input_audio": {"data": b64(b"RIFF\0\0\0\0WAVEfmt \xff\xff\xff\xff"),
                                                         "format": "wav"}}]},
    {"content": [{"type": "file"}, {"type": "file", "file": "x"}, {"type": "file", "file": {"file_data": 5}},
                 {"type": "file", "file": {"file_data": "data:;base64,"}},
                 {"type": "file", "file": {"file_data": "data:application/pdf;base64,%%%"}},
                 {"type": "file", "file": {"file_id": "file-abc"}}]},
    {"content": [{"type": "image", "source": 5}, {"type": "document", "source": {"type": "base64", "data": 5}},
                 {"inlineData": 5}, {"inlineData": {"data": "AAAA", "mimeType": 5}}, {"type": 5}, {"type": None}]},
    {"role": "assistant", "tool_calls": [None, 5, {"function": None}, {"function": {"arguments": {"a": [1]}}}]},
]


def test_garbage_inside_messages_never_raises():
    for kind in ("chat", "embedding", "image"):
        for message in GARBAGE_MESSAGES:
            assert hold({"messages": [message]}, kind) >= 0
        assert hold({"messages": GARBAGE_MESSAGES, "tools": [None, 5, {"type": 5}]}, kind) >= 0
    assert hold({"messages": "x", "tools": "y", "modalities": "audio", "prediction": 5}) >= 0


def _nested(depth: int) -> Any:
    value: Any = "z" * K
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("case", "value", "tokens"),
    [("an int beyond 64 bits", 2**100, 31), ("nested deeper than 255", _nested(300), K),
     ("lone surrogates", "\ud800" * K, 3 * K)],
)
def test_bodies_orjson_cannot_dump_are_still_bounded(case, value, tokens):
    """orjson refuses these; the iterative walk still bounds them, and never recurses."""
    assert estimate.input_tokens("chat", {"messages": [], "x": value}) >= tokens, case


# -- property: never raises, never beyond the clamp, never below the body's own bytes ----------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(st.characters(exclude_categories=())),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)
PART = st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url", "input_audio", "file", "input_file",
                                                       "image", "document", "input_image"])},
                             optional={"text": JSON, "image_url": JSON, "input_audio": JSON, "file": JSON,
                                       "file_data": JSON, "source": JSON, "inlineData": JSON})
MESSAGE = st.fixed_dictionaries({}, optional={"role": JSON, "content": JSON | st.lists(PART | JSON, max_size=4),
                                              "tool_calls": JSON, "name": JSON})
BODY = st.dictionaries(st.text(max_size=12), JSON, max_size=6) | st.fixed_dictionaries(
    {"messages": st.lists(MESSAGE | JSON, max_size=4)},
    optional={"max_tokens": JSON, "max_completion_tokens": JSON, "n": JSON, "tools": JSON, "input": JSON,
              "modalities": JSON, "prediction": JSON, "size": JSON, "prompt": JSON})
RATES = st.builds(cost.Rate, st.just("p"), st.just("m"), st.just("chat"), st.integers(0, 10**18),
                  st.integers(0, 10**18), st.none() | st.integers(0, 10**18), st.none() | st.integers(0, 10**18),
                  st.none() | st.integers(0, 10**18), st.none(), st.none() | st.integers() | st.floats())


@settings(max_examples=400, deadline=None)
@given(rate=RATES, kind=st.sampled_from(["chat", "embedding", "image", "other"]), body=BODY)
def test_reservation_never_raises_nor_exceeds_the_clamp(rate, kind, body):
    assert 0 <= cost.reservation(rate, kind, body) <= estimate.CLAMP


def _text_bytes(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, dict):
        return sum(_text_bytes(k) + _text_bytes(v) for k, v in value.items())
    if isinstance(value, list):
        return sum(_text_bytes(v) for v in value)
    return 0


@settings(max_examples=300, deadline=None)
@given(body=st.dictionaries(st.text(max_size=12), JSON, max_size=6).filter(lambda b: "messages" not in b))
def test_every_string_and_key_is_counted_by_its_bytes(body):
    """Without media parts, the input bound is at least every string's and key's UTF-8 bytes."""
    assert estimate.input_tokens("chat", body) >= _text_bytes(body)


def test_fast_enough_for_every_call():
    """The 400 kB attack body costs well under a few milliseconds (measured ~0.5 ms)."""
    import timeit

    body = with_messages({"role": "assistant", "content": None, "tool_calls": [CALL]})
    seconds = min(timeit.repeat(lambda: hold(body), number=20, repeat=5)) / 20
    assert seconds < 0.01 and math.isfinite(seconds)
