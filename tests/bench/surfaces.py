"""`python -m tests.bench.surfaces`: what each client dialect adds over OpenAI chat completions,
in process, on the translated path (the internal OpenAI chunks rendered in the surface's wire
format) and the native path (the provider's own frames relayed as they came).

Per chunk: a steady-state content chunk through each surface's stream renderer. Per call: the
request translated to the internal form plus the answer rendered back. Best of 5 timeit runs;
figures only. Goal (issue 11): no surface adds more than 10 µs per chunk or 0.2 ms per call over
the OpenAI chat surface.
"""
from __future__ import annotations

import argparse
import json
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any


from chalicelib.providers import sse
from chalicelib.store.calls import CallRecord
from tests.fakes import chat_echo

Row = dict[str, Any]
CHUNKS = 20


def _best_us(fn: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def _record() -> CallRecord:
    return CallRecord(request_id="req_bench", created_at=0, type="chat", model="gpt-4o-mini", provider="openai")


def _frames() -> tuple[list[bytes], bytes]:
    """The internal stream's frames (OpenAI chunks, usage last) and one steady content frame."""
    frames = [f for f in chat_echo.stream_frames(chat_echo.text_pieces(CHUNKS)) if b"[DONE]" not in f]
    return frames, frames[2]


def _surfaces() -> dict[str, tuple[Any, Callable[[], dict[str, Any]]]]:
    """name -> (Surface, a function giving the internal chat body of a typical request)."""
    from chalicelib.surfaces import anthropic_messages, gemini_generate, openai_chat, openai_completions
    from chalicelib.surfaces import aigne_hub as aigne
    from chalicelib.surfaces import openai_responses
    from chalicelib.surfaces.openai_responses import translate as responses_translate
    from chalicelib.surfaces.aigne_hub import translate as aigne_translate
    from chalicelib.surfaces.anthropic_messages import translate as anthropic_translate
    from chalicelib.surfaces.gemini_generate import translate as gemini_translate

    messages = [{"role": "user", "content": "Hello there, how are you today?"}]
    anthropic_body = {"model": "m", "max_tokens": 256, "system": "be brief", "messages": messages}
    gemini_body = {"contents": [{"role": "user", "parts": [{"text": messages[0]["content"]}]}],
                   "systemInstruction": {"parts": [{"text": "be brief"}]}, "generationConfig": {"maxOutputTokens": 256}}
    responses_body = {"model": "m", "instructions": "be brief", "input": messages[0]["content"], "max_output_tokens": 256}
    aigne_body = {"input": {"messages": [{"role": "system", "content": "be brief"}, *messages],
                            "modelOptions": {"model": "openai/gpt-4o-mini"}}, "agent": "$CHAT_MODEL",
                  "options": {"streaming": True}}
    return {
        "openai chat": (openai_chat.SURFACE, lambda: {"model": "m", "messages": messages, "max_tokens": 256}),
        "anthropic messages": (anthropic_messages.surface(False), lambda: anthropic_translate.to_openai(anthropic_body)),
        "gemini generateContent": (gemini_generate.SURFACE, lambda: gemini_translate.to_openai(gemini_body, "m")),
        "openai responses": (openai_responses.surface(responses_translate.Context.of(responses_body, store=False)),
                             lambda: responses_translate.to_chat(responses_body, [], lenient=False)),
        "completions": (openai_completions.SURFACE, lambda: openai_completions.to_chat(
            {"model": "m", "prompt": messages[0]["content"], "max_tokens": 256})),
        "aigne hub": (aigne.surface(), lambda: aigne_translate.to_openai(aigne_body["input"], True)),
    }


def measure() -> list[Row]:
    frames, steady = _frames()
    answer = chat_echo.completion_body(chat_echo.text_pieces(CHUNKS))
    record = _record()
    rows: list[Row] = []
    for name, (surface, translate_request) in _surfaces().items():
        renderer = surface.renderer(record)
        for frame in frames[:2]:  # past the stream's start
            renderer.feed(frame)
        per_chunk = _best_us(lambda: renderer.feed(steady), 20_000)

        def whole_call() -> None:
            translate_request()
            surface.render_json(answer, record)

        per_call = _best_us(whole_call, 2_000)
        rows.append({"surface": name, "chunk_us": per_chunk, "call_us": per_call})
        print(f"[surfaces] {name}: {per_chunk:.2f} µs/chunk, {per_call:.1f} µs/call", file=sys.stderr, flush=True)
    rows.append(_native_row(frames))
    return rows


def _native_row(frames: list[bytes]) -> Row:
    """The native path: the provider's own frames relayed (Anthropic's PassThrough)."""
    from chalicelib.providers.anthropic.translate import PassThrough
    from tests.fakes import anthropic

    events = [sse.parse_event(f.rstrip(b"\n")) for f in anthropic.sse(chat_echo.anthropic_events(
        chat_echo.text_pieces(CHUNKS)))]
    events = [(e, d) for e, d in events if d is not None]
    relay = PassThrough("anthropic", None)
    for event, data in events[:3]:
        relay.feed(event, data)
    delta = next((e, d) for e, d in events if e == b"content_block_delta")
    return {"surface": "anthropic native (relay)", "chunk_us": _best_us(lambda: relay.feed(*delta), 20_000),
            "call_us": None}


def render(rows: list[Row]) -> str:
    base = next(r for r in rows if r["surface"] == "openai chat")
    lines = ["Surfaces over OpenAI chat, in process (goal: <= 10 µs per chunk, <= 0.2 ms per call more)",
             f"{'surface':28} {'µs/chunk':>9} {'+chunk':>8} {'µs/call':>9} {'+call':>8}"]
    for r in rows:
        call = f"{r['call_us']:>9.1f} {r['call_us'] - base['call_us']:>+8.1f}" if r["call_us"] is not None else f"{'-':>9} {'-':>8}"
        lines.append(f"{r['surface']:28} {r['chunk_us']:>9.2f} {r['chunk_us'] - base['chunk_us']:>+8.2f} {call}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.surfaces", description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="also save the figures here")
    args = parser.parse_args(argv)
    rows = measure()
    print(render(rows), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
