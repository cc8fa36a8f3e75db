"""Pure translation between OpenAI's API and Bedrock's: Converse requests and responses,
ConverseStream events, InvokeModel bodies for embeddings and images, usage, and errors.

Shapes follow the Bedrock Runtime API reference (Converse, ConverseStream, InvokeModel) and the
model parameter pages of Titan Text Embeddings, Cohere Embed, Titan Image Generator and Nova
Canvas. Nothing here does I/O or imports boto3; adapter.py does the calls.
"""
from __future__ import annotations

import base64
import binascii
import re
import sys
import uuid
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from chalicelib.errors import ApiError, bad_request
from chalicelib.providers import errors, openai_shape
from chalicelib.providers.anthropic import translate as anthropic
from chalicelib.providers.base import Credential, UpstreamError, Usage
from chalicelib.providers.sse import frame
from chalicelib.providers.streaming import estimate_tokens

# -- chat: request -----------------------------------------------------------------------------

_IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif",
                  "image/webp": "webp"}


def image_block(url: str, param: str) -> dict[str, Any]:
    """An OpenAI image_url (a data: URL) -> a Converse image block with the raw bytes."""
    if not url.startswith("data:"):
        raise bad_request("Bedrock takes images as bytes, not URLs: send the image inline as a data URL "
                          "(data:image/png;base64,...).", param=param, code="unsupported_image_url")
    head, _, data = url[5:].partition(",")
    mime, _, encoding = head.partition(";")
    fmt = _IMAGE_FORMATS.get(mime.lower())
    if fmt is None:
        raise bad_request(f"Bedrock takes png, jpeg, gif or webp images, not '{mime or 'unknown'}'.", param=param,
                          code="unsupported_image_format")
    if encoding != "base64":
        raise bad_request("Image data URLs must be base64-encoded.", param=param, code="invalid_image")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request("The image data URL is not valid base64.", param=param, code="invalid_image") from None
    return {"image": {"format": fmt, "source": {"bytes": raw}}}


def _texts(content: Any, param: str) -> list[str]:
    """The texts of a string or a list of text parts (empty ones dropped: Bedrock rejects blank text)."""
    if isinstance(content, str):
        return [content] if content else []
    out = []
    for i, part in enumerate(content or ()):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in ("text", "refusal"):
            raise bad_request(f"Only text parts are allowed here, not '{kind}'.", param=f"{param}[{i}]")
        text = part.get(kind)
        if isinstance(text, str) and text:
            out.append(text)
    return out


def _user_blocks(content: Any, param: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for i, part in enumerate(content or ()):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            if part.get("text"):
                blocks.append({"text": part["text"]})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str):
                raise bad_request("image_url needs a url.", param=f"{param}[{i}].image_url")
            blocks.append(image_block(url, f"{param}[{i}].image_url.url"))
        else:
            raise bad_request(f"Bedrock chat does not take '{kind}' content parts here.", param=f"{param}[{i}]",
                              code="unsupported_content")
    return blocks


def _tool_use(call: Any, param: str) -> dict[str, Any]:
    fn = call.get("function") if isinstance(call, dict) else None
    if not isinstance(fn, dict) or not fn.get("name") or not call.get("id"):
        raise bad_request("A tool call needs an id and a function name.", param=param)
    try:
        args = orjson.loads(fn.get("arguments") or "{}")
    except orjson.JSONDecodeError:
        raise bad_request("Tool call arguments must be JSON.", param=f"{param}.function.arguments") from None
    return {"toolUse": {"toolUseId": call["id"], "name": fn["name"], "input": args}}


def _tool_result(message: dict[str, Any], param: str) -> dict[str, Any]:
    call_id = message.get("tool_call_id")
    if not call_id:
        raise bad_request("A tool message needs the tool_call_id it answers.", param=f"{param}.tool_call_id")
    text = "".join(_texts(message.get("content"), f"{param}.content"))
    content: list[dict[str, Any]] = []
    if text:
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            value = None
        # A JSON object goes as structured data; anything else stays text as the client sent it.
        content.append({"json": value} if isinstance(value, dict) else {"text": text})
    return {"toolResult": {"toolUseId": call_id, "content": content}}


def converse_messages(messages: list[dict[str, Any]]) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """(system blocks, Converse messages). Tool results become user turns, and consecutive turns of
    one role are merged, since Converse wants user and assistant to alternate."""
    system: list[dict[str, str]] = []
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        role = message.get("role")
        param = f"messages[{i}]"
        if role in ("system", "developer"):
            system.extend({"text": t} for t in _texts(message.get("content"), f"{param}.content"))
            continue
        if role == "user":
            blocks = _user_blocks(message.get("content"), f"{param}.content")
        elif role == "assistant":
            blocks = [{"text": t} for t in _texts(message.get("content"), f"{param}.content")]
            blocks += [_tool_use(c, f"{param}.tool_calls[{j}]") for j, c in enumerate(message.get("tool_calls") or ())]
        elif role == "tool":
            role, blocks = "user", [_tool_result(message, param)]
        else:
            raise bad_request(f"Bedrock does not take '{role}' messages.", param=f"{param}.role")
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return system, out


def _inference_config(body: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if max_tokens is not None:
        config["maxTokens"] = max_tokens
    if body.get("temperature") is not None:
        config["temperature"] = body["temperature"]
    if body.get("top_p") is not None:
        config["topP"] = body["top_p"]
    stop = body.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    return config


def _tool_config(body: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    specs = []
    for i, tool in enumerate(body.get("tools") or ()):
        fn = tool.get("function") if isinstance(tool, dict) and tool.get("type", "function") == "function" else None
        if not isinstance(fn, dict) or not fn.get("name"):
            raise bad_request("Bedrock takes function tools with a name.", param=f"tools[{i}]")
        spec: dict[str, Any] = {"name": fn["name"],
                                "inputSchema": {"json": fn.get("parameters") or {"type": "object", "properties": {}}}}
        if fn.get("description"):
            spec["description"] = fn["description"]
        if isinstance(fn.get("strict"), bool):
            spec["strict"] = fn["strict"]
        specs.append({"toolSpec": spec})
    if not specs:
        return None
    choice = body.get("tool_choice")
    if choice == "none":
        # Converse has no "none": leave the tools out, unless earlier turns use them (then
        # Converse requires the tool list to read them).
        uses_tools = any("toolUse" in b or "toolResult" in b for m in messages for b in m["content"])
        return {"tools": specs} if uses_tools else None
    config: dict[str, Any] = {"tools": specs}
    if choice == "required":
        config["toolChoice"] = {"any": {}}
    elif choice == "auto":
        config["toolChoice"] = {"auto": {}}
    elif isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        if not name:
            raise bad_request("tool_choice needs a function name.", param="tool_choice")
        config["toolChoice"] = {"tool": {"name": name}}
    return config


def _output_config(body: dict[str, Any]) -> dict[str, Any] | None:
    """response_format json_schema -> Converse structured output. json_object has no Converse
    equivalent and is left to the prompt."""
    fmt = body.get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return None
    spec = fmt.get("json_schema") or {}
    if not isinstance(spec.get("schema"), dict):
        raise bad_request("response_format.json_schema needs a schema.", param="response_format.json_schema.schema")
    schema: dict[str, Any] = {"schema": orjson.dumps(spec["schema"]).decode()}
    for key in ("name", "description"):
        if spec.get(key):
            schema[key] = spec[key]
    return {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": schema}}}


@errors.request_translation
def converse_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    """The keyword arguments of bedrock-runtime `converse` / `converse_stream`."""
    if (body.get("n") or 1) > 1:
        raise bad_request("Bedrock returns one choice per call: n must be 1.", param="n", code="unsupported_value")
    system, messages = converse_messages(body.get("messages") or [])
    if not messages:
        raise bad_request("Bedrock needs at least one user or assistant message.", param="messages")
    out: dict[str, Any] = {"modelId": model, "messages": messages}
    if system:
        out["system"] = system
    inference = _inference_config(body)
    if inference:
        out["inferenceConfig"] = inference
    tools = _tool_config(body, messages)
    if tools:
        out["toolConfig"] = tools
    output = _output_config(body)
    if output:
        out["outputConfig"] = output
    return out


# -- chat: response and usage ------------------------------------------------------------------

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}


def finish_reason(stop_reason: str | None) -> str:
    return FINISH_REASONS.get(stop_reason or "", "stop")


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def usage_from(raw: dict[str, Any] | None) -> Usage:
    """Converse usage -> Usage. Bedrock's inputTokens are already plain input, apart from the
    cache reads and writes, as Usage wants."""
    raw = raw or {}
    return Usage(input_tokens=_int(raw.get("inputTokens")), output_tokens=_int(raw.get("outputTokens")),
                 cache_read_tokens=_int(raw.get("cacheReadInputTokens")),
                 cache_write_tokens=_int(raw.get("cacheWriteInputTokens")))


openai_usage = openai_shape.usage


def completion_id(request_id: str | None) -> str:
    return "chatcmpl-" + (request_id or uuid.uuid4().hex)


def _tool_call(use: dict[str, Any]) -> dict[str, Any]:
    return {"id": use.get("toolUseId"), "type": "function",
            "function": {"name": use.get("name"), "arguments": orjson.dumps(use.get("input", {})).decode()}}


def chat_completion(response: dict[str, Any], model: str, cid: str, created: int,
                    provider: str) -> tuple[dict[str, Any], Usage]:
    """A Converse response -> an OpenAI chat.completion and its usage."""
    message = (response.get("output") or {}).get("message")
    if not isinstance(message, dict):
        raise errors.bad_response(provider, "the Converse response has no output message")
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in message.get("content") or ():
        if "text" in block:
            texts.append(block["text"])
        elif "toolUse" in block:
            calls.append(_tool_call(block["toolUse"]))
        elif "reasoningContent" in block:
            text = (block["reasoningContent"].get("reasoningText") or {}).get("text")
            if text:
                reasoning.append(text)
    out_message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts or not calls else None,
                                   "refusal": None}
    if calls:
        out_message["tool_calls"] = calls
    if reasoning:
        out_message["reasoning_content"] = "".join(reasoning)
    usage = usage_from(response.get("usage"))
    body = {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": out_message, "logprobs": None,
                     "finish_reason": finish_reason(response.get("stopReason"))}],
        "usage": openai_usage(usage),
    }
    return body, usage


# -- chat: stream ------------------------------------------------------------------------------

STREAM_EXCEPTIONS = frozenset({b"internalServerException", b"modelStreamErrorException", b"validationException",
                               b"throttlingException", b"serviceUnavailableException"})


@dataclass(slots=True)
class StreamState:
    """ConverseStream events -> OpenAI chunks.

    The stream is done at `metadata` (usage, which Bedrock sends after `messageStop`); a stream
    that ends cleanly after `messageStop` without `metadata` (event None, from the adapter) is
    done too, with its usage estimated. Exception events set `error`.
    """

    provider: str
    cid: str
    created: int
    model: str
    client_wants_usage: bool
    credential: Credential | None = None
    usage: Usage | None = None
    output_chars: int = 0
    done: bool = False
    error: ApiError | None = None
    stop_reason: str | None = None
    tool_index: dict[int, int] = field(default_factory=dict)  # content block index -> tool call index

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return frame(orjson.dumps({
            "id": self.cid, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }))

    def feed(self, event: bytes | None, data: Any) -> tuple[bytes, ...]:
        handler = _HANDLERS.get(event)
        if handler is not None:
            return handler(self, data or {})
        if event is None:  # the stream ended cleanly
            self.done = self.stop_reason is not None
        elif event in STREAM_EXCEPTIONS:
            message = (data or {}).get("message") or (data or {}).get("Message") or ""
            self.error = error_from(self.provider, event.decode(), message, None, self.credential)
        return ()


def _message_start(state: StreamState, data: dict[str, Any]) -> tuple[bytes, ...]:
    return (state.chunk({"role": data.get("role") or "assistant", "content": ""}),)


def _block_start(state: StreamState, data: dict[str, Any]) -> tuple[bytes, ...]:
    use = (data.get("start") or {}).get("toolUse")
    if not use:
        return ()
    index = state.tool_index[data.get("contentBlockIndex", 0)] = len(state.tool_index)
    return (state.chunk({"tool_calls": [{"index": index, "id": use.get("toolUseId"), "type": "function",
                                         "function": {"name": use.get("name"), "arguments": ""}}]}),)


def _block_delta(state: StreamState, data: dict[str, Any]) -> tuple[bytes, ...]:
    delta = data.get("delta") or {}
    text = delta.get("text")
    if text:
        state.output_chars += len(text)
        return (state.chunk({"content": text}),)
    use = delta.get("toolUse")
    if use is not None:
        index = state.tool_index.get(data.get("contentBlockIndex", 0))
        fragment = use.get("input") or ""
        if index is None or not fragment:
            return ()
        state.output_chars += len(fragment)
        return (state.chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}),)
    reasoning = (delta.get("reasoningContent") or {}).get("text")
    if reasoning:
        state.output_chars += len(reasoning)
        return (state.chunk({"reasoning_content": reasoning}),)
    return ()


def _message_stop(state: StreamState, data: dict[str, Any]) -> tuple[bytes, ...]:
    state.stop_reason = data.get("stopReason") or "end_turn"
    return (state.chunk({}, finish_reason(state.stop_reason)),)


def _metadata(state: StreamState, data: dict[str, Any]) -> tuple[bytes, ...]:
    state.usage = usage = usage_from(data.get("usage"))
    state.done = True
    if not state.client_wants_usage:
        return ()
    return (frame(orjson.dumps({"id": state.cid, "object": "chat.completion.chunk", "created": state.created,
                                "model": state.model, "choices": [], "usage": openai_usage(usage)})),)


def _ignore(state: StreamState, data: dict[str, Any]) -> tuple[bytes, ...]:
    return ()


_HANDLERS: dict[bytes | None, Callable[[StreamState, dict[str, Any]], tuple[bytes, ...]]] = {
    b"messageStart": _message_start,
    b"contentBlockStart": _block_start,
    b"contentBlockDelta": _block_delta,
    b"contentBlockStop": _ignore,
    b"messageStop": _message_stop,
    b"metadata": _metadata,
}


# -- errors ------------------------------------------------------------------------------------

# Bedrock error codes (HTTP errors in PascalCase, stream exceptions in camelCase) -> the status
# the client sees before errors.from_status shapes it (403/401 become the gateway's own 502).
ERROR_STATUS = {
    "ThrottlingException": 429,
    "ServiceQuotaExceededException": 429,
    "ValidationException": 400,
    "ResourceNotFoundException": 404,
    "AccessDeniedException": 403,
    "UnrecognizedClientException": 401,
    "ExpiredTokenException": 401,
    "InvalidSignatureException": 401,
    "IncompleteSignature": 401,
    "MissingAuthenticationTokenException": 401,
    "ModelNotReadyException": 503,
    "ServiceUnavailableException": 503,
    "ModelTimeoutException": 504,
    "InternalServerException": 500,
    "ModelErrorException": 424,
    "ModelStreamErrorException": 424,
}


def error_from(provider: str, code: str, message: str, http_status: int | None, credential: Credential | None,
               headers: dict[str, str] | None = None) -> UpstreamError:
    """A Bedrock error (its code, message and HTTP status when there was one) -> the client's error."""
    name = code[:1].upper() + code[1:]
    status = ERROR_STATUS.get(name) or http_status or 502
    message = message or name or f"HTTP {status}"
    if status == 504:
        return UpstreamError(504, f"Provider {provider} timed out: {errors.scrub(message, credential)}",
                             code="upstream_timeout", type="api_error", upstream_status=http_status)
    error = errors.from_status(provider, status, orjson.dumps({"message": message, "code": name or None}),
                               credential, headers)
    error.upstream_status = http_status
    return error


# -- Claude's own Messages API (the Anthropic surface's native path) ---------------------------

CLAUDE_VERSION = "bedrock-2023-05-31"  # the anthropic_version InvokeModel takes for Claude


def is_claude(model: str) -> bool:
    """A Claude model id or inference profile (us.anthropic.claude-...): it takes Messages bodies."""
    return _base_model(model).startswith("anthropic.claude")


def claude_body(body: dict[str, Any], betas: str | None) -> dict[str, Any]:
    """A client's Messages body as InvokeModel takes it: the model is in the path and streaming
    is the operation, so both leave the body; Bedrock's API version and the client's betas
    (Anthropic's header, a list in the body here) join it. Everything else is the client's."""
    out = {key: value for key, value in body.items() if key not in ("model", "stream")}
    out["anthropic_version"] = CLAUDE_VERSION
    if betas:
        out["anthropic_beta"] = [beta.strip() for beta in betas.split(",") if beta.strip()]
    return out


class ClaudeChunks(anthropic.PassThrough):
    """InvokeModelWithResponseStream for Claude: each `chunk` holds one of Anthropic's own
    stream events, relayed as Anthropic frames them; Bedrock's exceptions become errors."""

    __slots__ = ()

    def feed(self, event: bytes | None, data: Any) -> tuple[bytes, ...]:
        if event == b"chunk":
            return super().feed(None, (data or {}).get("bytes") or b"")
        if event in STREAM_EXCEPTIONS:
            message = (data or {}).get("message") or ""
            self.error = error_from(self.provider, event.decode(), message, None, self._credential)
        return ()


# -- embeddings --------------------------------------------------------------------------------

_REGION_PREFIX = re.compile(r"^(?:us|eu|apac|global|us-gov|jp|au|ca)\.")
TITAN_DIMENSIONS = (256, 512, 1024)
COHERE_BATCH = 96  # Cohere Embed on Bedrock takes at most 96 texts a call
COHERE_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")


def _base_model(model: str) -> str:
    return _REGION_PREFIX.sub("", model)


@errors.request_translation
def embedding_family(body: dict[str, Any], model: str) -> str:
    """"titan" or "cohere", after checking what the model can do with this request (400 if not)."""
    base = _base_model(model)
    dimensions = body.get("dimensions")
    if base.startswith("amazon.titan-embed-text"):
        if dimensions is not None and (not base.startswith("amazon.titan-embed-text-v2")
                                       or dimensions not in TITAN_DIMENSIONS):
            raise bad_request(f"{model} takes dimensions 256, 512 or 1024 (Titan v2 only), not {dimensions}.",
                              param="dimensions", code="unsupported_value")
        return "titan"
    if base.startswith("cohere.embed-"):
        if dimensions is not None:
            raise bad_request(f"{model} has a fixed size: dimensions is not supported.", param="dimensions",
                              code="unsupported_value")
        return "cohere"
    raise bad_request(f"Bedrock embeddings support Titan text and Cohere Embed models, not {model}.", param="model",
                      code="unsupported_model")


@errors.request_translation
def embedding_inputs(body: dict[str, Any]) -> list[str]:
    value = body.get("input")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    raise bad_request("Bedrock embeddings take text: a string or a list of strings, not token ids.", param="input")


@errors.request_translation
def titan_embedding_request(text: str, body: dict[str, Any], model: str) -> dict[str, Any]:
    if not _base_model(model).startswith("amazon.titan-embed-text-v2"):
        return {"inputText": text}  # v1 takes nothing else
    out: dict[str, Any] = {"inputText": text, "normalize": True}
    if body.get("dimensions") is not None:
        out["dimensions"] = body["dimensions"]
    return out


def titan_embedding_result(raw: Any, provider: str) -> tuple[list[float], int]:
    vector = raw.get("embedding") if isinstance(raw, dict) else None
    if not isinstance(vector, list):
        raise errors.bad_response(provider, "the Titan response has no embedding")
    return vector, _int(raw.get("inputTextTokenCount"))


@errors.request_translation
def cohere_embedding_request(texts: list[str], body: dict[str, Any]) -> dict[str, Any]:
    input_type = body.get("input_type")
    return {"texts": texts, "input_type": input_type if input_type in COHERE_INPUT_TYPES else "search_document"}


def cohere_embedding_result(raw: Any, count: int, provider: str) -> list[list[float]]:
    vectors = raw.get("embeddings") if isinstance(raw, dict) else None
    if isinstance(vectors, dict):  # the shape when embedding_types was asked for
        vectors = vectors.get("float")
    if not isinstance(vectors, list) or len(vectors) != count:
        raise errors.bad_response(provider, "the Cohere response has not one embedding per text")
    return vectors


def _base64_floats(vector: list[float]) -> str:
    packed = array("f", vector)  # float32, as OpenAI's base64 encoding is
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode()


def embedding_response(vectors: list[list[float]], model: str, tokens: int,
                       encoding_format: str | None) -> dict[str, Any]:
    pack = _base64_floats if encoding_format == "base64" else None
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": pack(v) if pack else v}
                 for i, v in enumerate(vectors)],
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def embedding_usage(texts: list[str], reported: int | None) -> Usage:
    """Titan reports tokens; Cohere on Bedrock does not, so they are estimated and marked so."""
    if reported is not None:
        return Usage(input_tokens=reported)
    return Usage(input_tokens=sum(estimate_tokens(len(t)) for t in texts), estimated=True)


# -- images ------------------------------------------------------------------------------------

_SIZE = re.compile(r"^(\d+)x(\d+)$")


@errors.request_translation
def image_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    """OpenAI images/generations -> the TEXT_IMAGE body of Titan Image Generator and Nova Canvas."""
    base = _base_model(model)
    if not base.startswith(("amazon.titan-image-generator", "amazon.nova-canvas")):
        raise bad_request(f"Bedrock image generation supports Titan Image Generator and Nova Canvas, not {model}.",
                          param="model", code="unsupported_model")
    if body.get("response_format") == "url":
        raise bad_request("Bedrock returns image bytes, not URLs: use response_format b64_json.",
                          param="response_format", code="unsupported_value")
    config: dict[str, Any] = {"numberOfImages": body.get("n") or 1}
    size = body.get("size")
    if size and size != "auto":
        found = _SIZE.match(size)
        if not found:
            raise bad_request(f"size must be WIDTHxHEIGHT, not '{size}'.", param="size")
        config["width"], config["height"] = int(found[1]), int(found[2])
    if body.get("quality") in ("hd", "high"):
        config["quality"] = "premium"
    if isinstance(body.get("seed"), int):
        config["seed"] = body["seed"]
    return {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": body["prompt"]},
            "imageGenerationConfig": config}


def image_response(raw: Any, created: int, provider: str) -> tuple[dict[str, Any], Usage]:
    images = raw.get("images") if isinstance(raw, dict) else None
    if not images:
        reason = raw.get("error") if isinstance(raw, dict) else None
        raise errors.bad_response(provider, f"no image came back ({reason})" if reason else "no image came back")
    return {"created": created, "data": [{"b64_json": b} for b in images]}, Usage(images=len(images))
