"""Gemini (Generative Language API v1beta) answers for the fake upstream.

Shapes follow Google's published reference: GenerateContentResponse (candidates, content
parts, finishReason, promptFeedback, usageMetadata, modelVersion, responseId),
streamGenerateContent?alt=sse (one `data:` event per GenerateContentResponse chunk, no end
marker, the final usage on the chunk with the finishReason), EmbedContentResponse /
BatchEmbedContentsResponse, Imagen's :predict, and google.rpc.Status error bodies.
"""
from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from typing import Any

from tests.fakes.wire import RecordedRequest, dumps

JSON = dict[str, Any]
MODEL_VERSION = "gemini-2.5-flash"
RESPONSE_ID = "gVz1aKfXCp-nz7IPq8yc2Ak"
JSON_HEADERS = {"content-type": "application/json; charset=UTF-8"}


def path(model: str, method: str) -> str:
    return f"/v1beta/models/{model}:{method}"


def usage(prompt: int, candidates: int, *, cached: int = 0, thoughts: int = 0, tool_use: int = 0) -> JSON:
    """usageMetadata; promptTokenCount includes cachedContentTokenCount, as Gemini reports it."""
    out: JSON = {"promptTokenCount": prompt, "candidatesTokenCount": candidates,
                 "totalTokenCount": prompt + candidates + thoughts + tool_use,
                 "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]}
    if cached:
        out["cachedContentTokenCount"] = cached
        out["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
    if thoughts:
        out["thoughtsTokenCount"] = thoughts
    if tool_use:
        out["toolUsePromptTokenCount"] = tool_use
    return out


def text(value: str, *, thought: bool = False) -> JSON:
    return {"text": value, "thought": True} if thought else {"text": value}


def function_call(name: str, args: JSON, signature: str | None = None) -> JSON:
    part: JSON = {"functionCall": {"name": name, "args": args}}
    if signature:
        part["thoughtSignature"] = signature
    return part


def inline_image(data: bytes, mime: str = "image/png") -> JSON:
    return {"inlineData": {"mimeType": mime, "data": base64.b64encode(data).decode()}}


def candidate(parts: list[JSON] | None, finish: str | None = "STOP", index: int = 0) -> JSON:
    out: JSON = {"index": index}
    if parts is not None:
        out["content"] = {"parts": parts, "role": "model"}
    if finish:
        out["finishReason"] = finish
    if finish == "SAFETY":
        out["safetyRatings"] = [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}]
    return out


def response(candidates: list[JSON], meta: JSON, *, response_id: str = RESPONSE_ID,
             model_version: str = MODEL_VERSION) -> JSON:
    return {"candidates": candidates, "usageMetadata": meta, "modelVersion": model_version, "responseId": response_id}


def blocked_prompt(reason: str = "SAFETY", prompt_tokens: int = 9) -> JSON:
    return {"promptFeedback": {"blockReason": reason,
                               "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH"}]},
            "usageMetadata": {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens},
            "modelVersion": MODEL_VERSION, "responseId": RESPONSE_ID}


def stream(pieces: list[list[JSON]], meta: JSON, *, finish: str = "STOP") -> list[JSON]:
    """Chunks as streamGenerateContent sends them: one per list of parts, the last with the
    finishReason; every chunk has usageMetadata, only the last one complete."""
    partial = {"promptTokenCount": meta["promptTokenCount"], "totalTokenCount": meta["promptTokenCount"]}
    last = len(pieces) - 1
    return [response([candidate(parts, finish if i == last else None)], meta if i == last else partial)
            for i, parts in enumerate(pieces)]


def error(code: int, message: str, status: str, *, reason: str | None = None) -> JSON:
    body: JSON = {"code": code, "message": message, "status": status}
    if reason:
        body["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                            "domain": "googleapis.com"}]
    return {"error": body}


# -- embeddings ------------------------------------------------------------------------------------


def vector(text_value: str, dimensions: int = 8) -> list[float]:
    """A deterministic vector whose values are exact float32s (so base64 round-trips exactly)."""
    seed = hashlib.sha256(text_value.encode()).digest()
    return [(seed[i % 32] - 128) / 128 for i in range(dimensions)]


def _texts_and_dims(body: JSON) -> tuple[str, int]:
    return body["content"]["parts"][0]["text"], body.get("outputDimensionality") or 8


def embed_handler(req: RecordedRequest) -> tuple[int, dict[str, str], bytes]:
    """:embedContent -> {"embedding": {"values": [...]}} for the text it was sent."""
    value, dims = _texts_and_dims(req.json)
    return 200, JSON_HEADERS, dumps({"embedding": {"values": vector(value, dims)}})


def batch_embed_handler(req: RecordedRequest) -> tuple[int, dict[str, str], bytes]:
    """:batchEmbedContents -> {"embeddings": [{"values": [...]}, ...]}, one per request, in order."""
    vectors = [vector(*_texts_and_dims(r)) for r in req.json["requests"]]
    return 200, JSON_HEADERS, dumps({"embeddings": [{"values": v} for v in vectors]})


# -- images ----------------------------------------------------------------------------------------


def png(seed: str, size: int = 4) -> bytes:
    r, g, b = hashlib.sha256(seed.encode()).digest()[:3]
    rows = b"".join(b"\x00" + bytes((r, g, b)) * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def imagen(images: list[bytes], *, filtered: tuple[str, ...] | list[str] = ()) -> JSON:
    """Imagen's :predict answer; filtered images appear only as their reason (includeRaiReason)."""
    predictions = [{"bytesBase64Encoded": base64.b64encode(i).decode(), "mimeType": "image/png"} for i in images]
    return {"predictions": predictions + [{"raiFilteredReason": r} for r in filtered]}
