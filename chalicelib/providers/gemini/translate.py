"""Pure translation between OpenAI's wire format and Gemini's (Generative Language API v1beta).

Requests: chat -> GenerateContentRequest, embeddings -> embedContent / batchEmbedContents,
images -> Imagen's :predict or a Gemini image model's generateContent, audio transcriptions and
translations -> generateContent with the audio inline and an instruction. Responses, stream
chunks, usage and errors come back in OpenAI's shapes. No I/O here: adapter.py does the HTTP.
"""
from __future__ import annotations

import base64
import mimetypes
import struct
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import orjson

from chalicelib.errors import ApiError, bad_request
from chalicelib.media.audio import media_type
from chalicelib.providers import errors, openai_shape, sse
from chalicelib.providers.base import AudioUpload, Credential, UpstreamError, Usage
from chalicelib.providers.gemini.api import is_imagen
from chalicelib.providers.sse import frame
from chalicelib.providers.streaming import estimate_tokens

JSON = dict[str, Any]

# -- chat request -------------------------------------------------------------------------------


@errors.request_translation
def chat_request(body: JSON, model: str) -> JSON:
    """The GenerateContentRequest for an OpenAI chat completion request."""
    contents, system = messages_to_contents(body["messages"])
    out: JSON = {"contents": contents}
    if system:
        out["systemInstruction"] = {"parts": system}
    if body.get("tools"):
        out["tools"] = [{"functionDeclarations": function_declarations(body["tools"])}]
        config = tool_config(body.get("tool_choice"))
        if config:
            out["toolConfig"] = config
    generation = generation_config(body, model)
    if generation:
        out["generationConfig"] = generation
    return out


def messages_to_contents(messages: list[JSON]) -> tuple[list[JSON], list[JSON]]:
    """(contents, systemInstruction parts). Gemini has two roles, `user` and `model`; tool
    results are user turns of functionResponse parts, named after the call they answer."""
    contents: list[JSON] = []
    system: list[JSON] = []
    call_names: dict[str, str] = {}  # tool call id -> function name, the latest call winning
    previous_was_tool = False
    for i, message in enumerate(messages):
        role = message.get("role")
        is_tool = role in ("tool", "function")
        if role in ("system", "developer"):
            system.extend({"text": t} for t in _texts(message.get("content"), f"messages[{i}].content"))
        elif role == "user":
            contents.append({"role": "user", "parts": user_parts(message.get("content"), i)})
        elif role == "assistant":
            parts = assistant_parts(message, call_names, i)
            if parts:  # Gemini rejects a turn without parts
                contents.append({"role": "model", "parts": parts})
        elif is_tool:
            part = function_response(message, call_names, i)
            if previous_was_tool:  # answers to parallel calls go back together, in one turn
                contents[-1]["parts"].append(part)
            else:
                contents.append({"role": "user", "parts": [part]})
        else:
            raise bad_request(f"Gemini does not take messages of role {role!r}.", param=f"messages[{i}].role")
        previous_was_tool = is_tool
    return contents, system


def _texts(content: Any, param: str) -> list[str]:
    """The texts of a text-only content (a string or text/refusal parts), empty ones dropped."""
    if isinstance(content, str):
        return [content] if content else []
    out = []
    for part in content or ():
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in ("text", "refusal"):
            raise bad_request(f"Only text parts are allowed here, not {kind!r}.", param=param)
        text = part.get(kind)
        if text:
            out.append(text)
    return out


def user_parts(content: Any, i: int) -> list[JSON]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[JSON] = []
    for j, part in enumerate(content or ()):
        param = f"messages[{i}].content[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            if part.get("text"):  # Gemini rejects empty text parts
                parts.append({"text": part["text"]})
        elif kind == "image_url":
            image = part.get("image_url")
            parts.append(media_part(image.get("url") if isinstance(image, dict) else image, param, "image/jpeg"))
        elif kind == "input_audio":
            audio = part.get("input_audio") or {}
            parts.append({"inlineData": {"mimeType": f"audio/{audio.get('format') or 'wav'}", "data": audio.get("data")}})
        elif kind == "file" and (part.get("file") or {}).get("file_data"):
            parts.append(media_part(part["file"]["file_data"], param, "application/pdf"))
        else:
            raise bad_request(f"Gemini cannot take a content part of type {kind!r} here"
                              + (" (uploaded file ids are OpenAI's)." if kind == "file" else "."), param=param)
    return parts


def media_part(url: Any, param: str, default_mime: str) -> JSON:
    """A data: URL is sent inline; an http(s) URL by reference, with a type guessed from its path."""
    if not isinstance(url, str):
        raise bad_request("The part needs a URL.", param=param)
    if url.startswith("data:"):
        head, comma, data = url.partition(",")
        if not comma or not head.endswith(";base64"):
            raise bad_request("Only base64 data: URLs are supported.", param=param)
        return {"inlineData": {"mimeType": head[5:].split(";", 1)[0] or default_mime, "data": data}}
    if url.startswith(("https://", "http://")):
        mime = mimetypes.guess_type(urlsplit(url).path)[0] or default_mime
        return {"fileData": {"mimeType": mime, "fileUri": url}}
    raise bad_request("Expected a data: or http(s) URL.", param=param)


def assistant_parts(message: JSON, call_names: dict[str, str], i: int) -> list[JSON]:
    parts: list[JSON] = [{"text": t} for t in _texts(message.get("content"), f"messages[{i}].content")]
    calls = message.get("tool_calls") or ()
    legacy = message.get("function_call")
    if legacy:
        calls = [*calls, {"function": legacy}]
    for j, call in enumerate(calls):
        function = call.get("function") or {}
        name = function.get("name") or ""
        if call.get("id"):
            call_names[call["id"]] = name
        part: JSON = {"functionCall": {"name": name, "args": _arguments(function.get("arguments"),
                                                                        f"messages[{i}].tool_calls[{j}]")}}
        # Gemini 2.5+ signs its function calls and Gemini 3 wants the signature back; it rides
        # along where Google's own OpenAI-compatible endpoint puts it.
        signature = ((call.get("extra_content") or {}).get("google") or {}).get("thought_signature")
        if signature:
            part["thoughtSignature"] = signature
        parts.append(part)
    return parts


def _arguments(raw: Any, param: str) -> JSON:
    if isinstance(raw, dict):
        return raw
    if not raw:
        return {}
    try:
        args = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise bad_request("Tool call arguments must be a JSON object.", param=param) from None
    if not isinstance(args, dict):
        raise bad_request("Tool call arguments must be a JSON object.", param=param)
    return args


def function_response(message: JSON, call_names: dict[str, str], i: int) -> JSON:
    call_id = message.get("tool_call_id")
    name = message.get("name") if message.get("role") == "function" else call_names.get(str(call_id)) or message.get("name")
    if not name:
        raise bad_request(f"This tool message answers call {call_id!r}, which no earlier assistant message made.",
                          param=f"messages[{i}].tool_call_id")
    return {"functionResponse": {"name": name, "response": tool_result("".join(_texts(message.get("content"),
                                                                                    f"messages[{i}].content")))}}


def tool_result(text: str) -> JSON:
    """Gemini wants the result as an object: a JSON object as it is, anything else wrapped."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"result": text}
    return value if isinstance(value, dict) else {"result": value}


# -- tools ----------------------------------------------------------------------------------------


def function_declarations(tools: list[JSON]) -> list[JSON]:
    out = []
    for i, tool in enumerate(tools):
        if tool.get("type") != "function":
            raise bad_request(f"Gemini takes function tools only, not {tool.get('type')!r}.", param=f"tools[{i}].type")
        function = tool.get("function") or {}
        declaration: JSON = {"name": function.get("name")}
        if function.get("description"):
            declaration["description"] = function["description"]
        parameters = clean_schema(function.get("parameters") or {})
        # Gemini rejects an OBJECT schema without properties: a function of no arguments has none.
        if parameters.get("properties") or parameters.get("type", "object") != "object":
            declaration["parameters"] = parameters
        out.append(declaration)
    return out


# Gemini's Schema is a subset of OpenAPI 3.0 and answers 400 to any other key
# (additionalProperties, $schema, strict, $defs...): only these are kept.
SCHEMA_KEYS = frozenset({
    "type", "format", "title", "description", "nullable", "enum", "items", "minItems", "maxItems",
    "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern",
    "minimum", "maximum", "example", "default", "anyOf", "propertyOrdering",
})
_MAX_SCHEMA_DEPTH = 32  # deeper means a recursive $ref, which Gemini's Schema cannot express


def clean_schema(schema: Any, root: JSON | None = None, depth: int = 0) -> Any:
    """A JSON Schema made acceptable to Gemini: unknown keys dropped, local $refs inlined,
    allOf merged, oneOf read as anyOf, `const` as a one-value enum, type lists as nullable."""
    if not isinstance(schema, dict):
        return schema
    if depth > _MAX_SCHEMA_DEPTH:
        raise bad_request("A tool's parameter schema is too deep or refers to itself; Gemini cannot take it.",
                          param="tools")
    root = schema if root is None else root
    if isinstance(schema.get("$ref"), str) or isinstance(schema.get("allOf"), list):
        return clean_schema(_flatten(schema, root), root, depth + 1)
    out: JSON = {}
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: clean_schema(sub, root, depth + 1) for name, sub in value.items()}
        elif key == "items":
            out[key] = clean_schema(value, root, depth + 1)
        elif key in ("anyOf", "oneOf") and isinstance(value, list):
            out["anyOf"] = [clean_schema(sub, root, depth + 1) for sub in value]
        elif key == "const":
            out["enum"] = [value]
        elif key == "type" and isinstance(value, list):
            kinds = [k for k in value if k != "null"]
            if len(kinds) < len(value):
                out["nullable"] = True
            if len(kinds) == 1:
                out["type"] = kinds[0]
            elif kinds:
                out["anyOf"] = [{"type": k} for k in kinds]
        elif key in SCHEMA_KEYS:
            out[key] = value
    return out


def _flatten(schema: JSON, root: JSON) -> JSON:
    """The schema with its $ref and allOf members merged in (its own keys win)."""
    merged = {k: v for k, v in schema.items() if k not in ("$ref", "allOf")}
    members = [_resolve(schema["$ref"], root)] if isinstance(schema.get("$ref"), str) else []
    members += [m for m in schema.get("allOf") or () if isinstance(m, dict)]
    for member in members:
        for key, value in member.items():
            merged.setdefault(key, value)
    return merged


def _resolve(ref: str, root: JSON) -> JSON:
    if not ref.startswith("#"):
        raise bad_request(f"Only local schema references can be sent to Gemini, not {ref!r}.", param="tools")
    node: Any = root
    for token in filter(None, ref[1:].split("/")):
        node = node.get(token.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        raise bad_request(f"The schema reference {ref!r} leads nowhere.", param="tools")
    return node


TOOL_MODES = {"auto": "AUTO", "required": "ANY", "none": "NONE"}


def tool_config(choice: Any) -> JSON | None:
    if choice is None:
        return None
    if isinstance(choice, str) and choice in TOOL_MODES:
        return {"functionCallingConfig": {"mode": TOOL_MODES[choice]}}
    name = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
    if isinstance(choice, dict) and choice.get("type") == "function" and name:
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}
    raise bad_request("tool_choice must be auto, required, none or a named function for Gemini.", param="tool_choice")


# -- generation config -------------------------------------------------------------------------

SAME_VALUE = (("temperature", "temperature"), ("top_p", "topP"), ("n", "candidateCount"), ("seed", "seed"),
               ("presence_penalty", "presencePenalty"), ("frequency_penalty", "frequencyPenalty"))
# reasoning_effort as Google's own OpenAI-compatible endpoint reads it: a thinking budget on
# Gemini 2.5 (0 turns thinking off where the model allows it), a thinking level on Gemini 3.
THINKING_BUDGETS = {"none": 0, "minimal": 1024, "low": 1024, "medium": 8192, "high": 24576}
THINKING_LEVELS = {"none": "low", "minimal": "low", "low": "low", "medium": "high", "high": "high"}


def generation_config(body: JSON, model: str) -> JSON:
    config: JSON = {dst: body[src] for src, dst in SAME_VALUE if body.get(src) is not None}
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if max_tokens is not None:
        config["maxOutputTokens"] = max_tokens
    stop = body.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else stop
    response_format = body.get("response_format") or {}
    kind = response_format.get("type")
    if kind in ("json_object", "json_schema"):
        config["responseMimeType"] = "application/json"
        schema = (response_format.get("json_schema") or {}).get("schema")
        if kind == "json_schema" and schema:
            # responseJsonSchema takes JSON Schema as it is, unlike responseSchema's OpenAPI subset.
            config["responseJsonSchema"] = schema
    elif kind not in (None, "text"):
        raise bad_request(f"Gemini does not support response_format {kind!r}.", param="response_format.type")
    effort = body.get("reasoning_effort")
    if effort is not None:
        config["thinkingConfig"] = thinking_config(effort, model)
    return config


def thinking_config(effort: Any, model: str) -> JSON:
    if effort not in THINKING_BUDGETS:
        raise bad_request(f"Unknown reasoning_effort {effort!r}.", param="reasoning_effort")
    if model.removeprefix("models/").startswith("gemini-2"):
        return {"thinkingBudget": THINKING_BUDGETS[effort]}
    return {"thinkingLevel": THINKING_LEVELS[effort]}


# -- chat response ------------------------------------------------------------------------------

FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    **dict.fromkeys(("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
                     "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"), "content_filter"),
}


def finish_reason(reason: str | None, has_tool_calls: bool) -> str:
    """OpenAI's finish_reason; Gemini says STOP after function calls too. Reasons OpenAI has
    no word for (OTHER, MALFORMED_FUNCTION_CALL...) read as a plain stop."""
    mapped = FINISH_REASONS.get(reason or "", "stop")
    return "tool_calls" if has_tool_calls and mapped == "stop" else mapped


def read_parts(parts: Iterable[JSON], first_call: int) -> tuple[str, list[JSON]]:
    """The answer text (thoughts left out) and the function calls, as OpenAI tool calls numbered
    from `first_call`."""
    text = ""
    calls: list[JSON] = []
    for part in parts:
        if part.get("thought"):
            continue
        if "text" in part:
            text += part["text"]
        elif "functionCall" in part:
            calls.append(tool_call(part, first_call + len(calls)))
    return text, calls


def tool_call(part: JSON, number: int) -> JSON:
    call = part["functionCall"]
    out: JSON = {"id": f"call_{number}", "type": "function",
                 "function": {"name": call.get("name", ""), "arguments": orjson.dumps(call.get("args") or {}).decode()}}
    if part.get("thoughtSignature"):
        out["extra_content"] = {"google": {"thought_signature": part["thoughtSignature"]}}
    return out


def chat_response(data: JSON, model: str, provider: str) -> tuple[JSON, Usage]:
    """A GenerateContentResponse -> (chat.completion, usage for the call record)."""
    choices = []
    calls = 0
    for i, candidate in enumerate(data.get("candidates") or ()):
        text, tool_calls = read_parts((candidate.get("content") or {}).get("parts") or (), calls)
        calls += len(tool_calls)
        reason = finish_reason(candidate.get("finishReason"), bool(tool_calls))
        message: JSON = {"role": "assistant", "content": text or (None if tool_calls or reason == "content_filter" else ""),
                         "refusal": None}
        if tool_calls:
            message["tool_calls"] = tool_calls
        choices.append({"index": candidate.get("index", i), "message": message, "logprobs": None, "finish_reason": reason})
    if not choices:
        blocked = (data.get("promptFeedback") or {}).get("blockReason")
        if not blocked:
            raise errors.bad_response(provider, "no candidates and no block reason")
        # The prompt itself was blocked: an answer saying so, as OpenAI's content filter does.
        choices.append({"index": 0, "logprobs": None, "finish_reason": "content_filter",
                        "message": {"role": "assistant", "content": None,
                                    "refusal": f"Gemini blocked the prompt ({blocked})."}})
    meta = data.get("usageMetadata") or {}
    out = {"id": data.get("responseId") or _new_id(), "object": "chat.completion", "created": int(time.time()),
           "model": data.get("modelVersion") or model, "choices": choices, "usage": openai_usage(meta)}
    return out, usage_of(meta)


def _new_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex


# -- usage ----------------------------------------------------------------------------------------


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def usage_of(meta: JSON) -> Usage:
    """usageMetadata -> Usage. promptTokenCount includes the cached tokens; tool-use prompt
    and thoughts are counted apart from prompt and candidates."""
    cached = _int(meta.get("cachedContentTokenCount"))
    thoughts = _int(meta.get("thoughtsTokenCount"))
    return Usage(
        input_tokens=max(_int(meta.get("promptTokenCount")) - cached, 0) + _int(meta.get("toolUsePromptTokenCount")),
        output_tokens=_int(meta.get("candidatesTokenCount")) + thoughts,
        cache_read_tokens=cached,
        reasoning_tokens=thoughts,
    )


def openai_usage(meta: JSON) -> JSON:
    """usageMetadata -> OpenAI's usage: every input token in prompt_tokens, thoughts in completion."""
    return openai_shape.usage(usage_of(meta))


# -- streaming ------------------------------------------------------------------------------------


class StreamTranslator:
    """streamGenerateContent?alt=sse -> OpenAI chat.completion.chunk frames.

    Each event is a whole GenerateContentResponse holding the next piece of each candidate.
    There is no end event: the stream is complete once every candidate has a finishReason
    (the chunk that has it also carries the final usageMetadata).
    """

    __slots__ = ("_calls", "_calls_of", "_finished", "_started", "candidates", "created", "credential", "done", "error",
                 "id", "include_usage", "meta", "model", "output_chars", "provider", "usage")

    def __init__(self, provider: str, model: str, *, include_usage: bool, candidates: int = 1,
                 credential: Credential | None = None) -> None:
        self.provider = provider
        self.model = model
        self.include_usage = include_usage
        self.candidates = candidates
        self.credential = credential
        self.id: str | None = None
        self.created = int(time.time())
        self.meta: JSON | None = None  # the latest usageMetadata: each chunk has it, the last one final
        self.usage: Usage | None = None
        self.output_chars = 0
        self.done = False
        self.error: ApiError | None = None
        self._started: set[int] = set()
        self._finished = 0
        self._calls = 0  # tool calls so far, for ids unique in the response
        self._calls_of: dict[int, int] = {}  # choice index -> its tool calls so far

    def feed(self, event: bytes | None, data: bytes) -> list[bytes]:
        chunk = sse.json_object(data)
        if chunk is None:
            self.error = errors.bad_response(self.provider, "a stream event is not a JSON object")
            return []
        if "error" in chunk:
            self.error = stream_error(self.provider, chunk, self.credential)
            return []
        if self.id is None:
            self.id = chunk.get("responseId") or _new_id()
            self.model = chunk.get("modelVersion") or self.model
        if "usageMetadata" in chunk:
            self.meta = chunk["usageMetadata"]
            self.usage = usage_of(self.meta)
        deltas: list[JSON] = []
        finishes: list[JSON] = []
        candidates = chunk.get("candidates")
        for candidate in candidates or ():
            index = candidate.get("index", 0)
            delta = self._delta(index, (candidate.get("content") or {}).get("parts") or ())
            if delta:
                deltas.append({"index": index, "delta": delta, "finish_reason": None})
            if candidate.get("finishReason"):
                self._finished += 1
                reason = finish_reason(candidate["finishReason"], index in self._calls_of)
                finishes.append({"index": index, "delta": {}, "finish_reason": reason})
        if not candidates and (chunk.get("promptFeedback") or {}).get("blockReason"):
            # The prompt was blocked: nothing will be generated for any candidate.
            delta = self._delta(0, ())
            if delta:
                deltas.append({"index": 0, "delta": delta, "finish_reason": None})
            finishes.append({"index": 0, "delta": {}, "finish_reason": "content_filter"})
            self._finished = self.candidates
        out = [frame(self._chunk(choices)) for choices in (deltas, finishes) if choices]
        if self._finished >= self.candidates:
            self.done = True
            if self.include_usage and self.meta is not None:
                out.append(frame(self._chunk([], usage=openai_usage(self.meta))))
        return out

    def _delta(self, index: int, parts: Iterable[JSON]) -> JSON:
        delta: JSON = {}
        if index not in self._started:
            self._started.add(index)
            delta["role"] = "assistant"
        text, calls = read_parts(parts, self._calls)
        if text:
            delta["content"] = text
            self.output_chars += len(text)
        if calls:
            self._calls += len(calls)
            first = self._calls_of.get(index, 0)
            self._calls_of[index] = first + len(calls)
            delta["tool_calls"] = [{"index": first + k, **call} for k, call in enumerate(calls)]
            self.output_chars += sum(len(c["function"]["arguments"]) for c in calls)
        return delta

    def _chunk(self, choices: list[JSON], **extra: Any) -> bytes:
        return orjson.dumps({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                             "model": self.model, "choices": choices, **extra})


class PassThrough:
    """The native stream of the generateContent surface: Gemini's chunks relayed as they came,
    reading only what billing needs (usageMetadata), the end (every candidate finished, or a
    blocked prompt) and errors."""

    __slots__ = ("_finished", "candidates", "credential", "done", "error", "output_chars", "provider", "usage")

    def __init__(self, provider: str, *, candidates: int = 1, credential: Credential | None = None) -> None:
        self.provider = provider
        self.candidates = candidates
        self.credential = credential
        self.output_chars = 0
        self.done = False
        self.error: ApiError | None = None
        self.usage: Usage | None = None
        self._finished = 0

    def feed(self, event: bytes | None, data: bytes) -> tuple[bytes, ...]:
        chunk = sse.json_object(data)
        if chunk is None:
            self.error = errors.bad_response(self.provider, "a stream event is not a JSON object")
            return ()
        if "error" in chunk:
            self.error = stream_error(self.provider, chunk, self.credential)
            return ()
        if isinstance(chunk.get("usageMetadata"), dict):
            self.usage = usage_of(chunk["usageMetadata"])
        candidates = chunk.get("candidates")
        for candidate in candidates if isinstance(candidates, list) else ():
            parts = (candidate.get("content") or {}).get("parts") or ()
            self.output_chars += sum(len(p["text"]) for p in parts if isinstance(p.get("text"), str))
            self._finished += bool(candidate.get("finishReason"))
        blocked = not candidates and (chunk.get("promptFeedback") or {}).get("blockReason")
        self.done = bool(blocked) or self._finished >= self.candidates
        return (frame(data),)


def text_chars(body: JSON) -> int:
    """Characters of text in a GenerateContentRequest (contents and systemInstruction), for a
    usage estimate should a stream end without usageMetadata."""
    contents = body.get("contents")
    turns = [*(contents if isinstance(contents, list) else ()), body.get("systemInstruction")]
    parts = [p for t in turns if isinstance(t, dict) and isinstance(t.get("parts"), list) for p in t["parts"]]
    return sum(len(p["text"]) for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str))


# -- embeddings ------------------------------------------------------------------------------------


def _embed_inputs(body: JSON) -> list[str]:
    raw = body["input"]
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise bad_request("Gemini embeds text only; token arrays (lists of integers) cannot be sent to it.",
                          param="input", code="unsupported_input")
    return texts


@errors.request_translation
def embed_request(body: JSON, model: str) -> tuple[str, JSON]:
    """(method, body): embedContent for one string, batchEmbedContents for a list."""
    texts = _embed_inputs(body)
    dimensions = body.get("dimensions")

    def request(text: str) -> JSON:
        out: JSON = {"content": {"parts": [{"text": text}]}}
        if dimensions:
            out["outputDimensionality"] = dimensions
        return out

    if isinstance(body["input"], str):
        return "embedContent", request(texts[0])
    name = "models/" + model.removeprefix("models/")
    return "batchEmbedContents", {"requests": [{"model": name, **request(t)} for t in texts]}


def native_body(body: JSON, model: str) -> JSON:
    """A client's countTokens or batchEmbedContents body for `model`: the requests inside it
    name their model, which is the client's id (`google/...`) until it is the provider's own."""
    name = "models/" + model.removeprefix("models/")
    inner = body.get("generateContentRequest")
    if isinstance(inner, dict) and "model" in inner:
        body = {**body, "generateContentRequest": {**inner, "model": name}}
    requests = body.get("requests")
    if isinstance(requests, list):
        body = {**body, "requests": [{**r, "model": name} if isinstance(r, dict) and "model" in r else r
                                     for r in requests]}
    return body


def embed_response(data: JSON, body: JSON, model: str, provider: str) -> tuple[JSON, Usage]:
    """(OpenAI embedding list, usage). Gemini reports no token counts here: estimated."""
    texts = _embed_inputs(body)
    found = [data["embedding"]] if "embedding" in data else data.get("embeddings") or []
    vectors: list[Any] = [e.get("values") for e in found if isinstance(e, dict)]
    if len(vectors) != len(texts) or not all(isinstance(v, list) for v in vectors):
        raise errors.bad_response(provider, f"{len(vectors)} embeddings for {len(texts)} inputs")
    if body.get("encoding_format") == "base64":  # little-endian float32, as OpenAI sends them
        vectors = [base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode() for v in vectors]
    tokens = estimate_tokens(sum(len(t) for t in texts))
    out = {"object": "list", "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
           "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]}
    return out, Usage(input_tokens=tokens, estimated=True)


# -- images -----------------------------------------------------------------------------------------

IMAGEN_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9")
GEMINI_IMAGE_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")


def aspect_ratio(size: str | None, allowed: tuple[str, ...]) -> str | None:
    """The allowed aspect ratio nearest OpenAI's `size` (WIDTHxHEIGHT); None for none or auto."""
    if not size or size == "auto":
        return None
    width, _, height = size.partition("x")
    if not (width.isdigit() and height.isdigit() and int(width) and int(height)):
        raise bad_request(f"size must be WIDTHxHEIGHT or auto, not {size!r}.", param="size")
    wanted = int(width) / int(height)

    def distance(ratio: str) -> float:
        w, _, h = ratio.partition(":")
        return abs(int(w) / int(h) - wanted)

    return min(allowed, key=distance)


@errors.request_translation
def image_request(body: JSON, model: str) -> tuple[str, JSON]:
    """(method, body): Imagen's :predict, or generateContent asking a Gemini model for images."""
    n = body.get("n") or 1
    if is_imagen(model):
        parameters: JSON = {"sampleCount": n, "includeRaiReason": True}  # say why an image was filtered
        ratio = aspect_ratio(body.get("size"), IMAGEN_RATIOS)
        if ratio:
            parameters["aspectRatio"] = ratio
        return "predict", {"instances": [{"prompt": body["prompt"]}], "parameters": parameters}
    config: JSON = {"responseModalities": ["TEXT", "IMAGE"]}
    if n > 1:
        config["candidateCount"] = n
    ratio = aspect_ratio(body.get("size"), GEMINI_IMAGE_RATIOS)
    if ratio:
        config["imageConfig"] = {"aspectRatio": ratio}
    return "generateContent", {"contents": [{"role": "user", "parts": [{"text": body["prompt"]}]}],
                               "generationConfig": config}


def image_response(data: JSON, body: JSON, model: str, provider: str) -> tuple[JSON, Usage]:
    """Imagen predictions or a Gemini answer's image parts -> (OpenAI ImagesResponse, usage)."""
    images: list[tuple[str, str]] = []  # (mime type, base64)
    if is_imagen(model):
        predictions = data.get("predictions") or []
        images = [(p.get("mimeType") or "image/png", p["bytesBase64Encoded"])
                  for p in predictions if p.get("bytesBase64Encoded")]
        usage = Usage()
        # Imagen leaves filtered images out; with includeRaiReason it says why.
        blocked = "; ".join(p["raiFilteredReason"] for p in predictions if p.get("raiFilteredReason"))
        blocked = blocked or "Imagen returned no image"
    else:
        text = ""
        for candidate in data.get("candidates") or ():
            for part in (candidate.get("content") or {}).get("parts") or ():
                if part.get("thought"):  # Gemini 3 image models sketch in thought images first
                    continue
                inline = part.get("inlineData") or {}
                if str(inline.get("mimeType", "")).startswith("image/") and inline.get("data"):
                    images.append((inline["mimeType"], inline["data"]))
                text += part.get("text") or ""
        usage = usage_of(data.get("usageMetadata") or {})
        reasons = [c["finishReason"] for c in data.get("candidates") or ()
                   if FINISH_REASONS.get(c.get("finishReason") or "") == "content_filter"]
        blocked = (data.get("promptFeedback") or {}).get("blockReason") or "; ".join(reasons)
        if not images and not blocked:
            raise UpstreamError(502, f"Provider {provider} answered without an image"
                                + (f": {text[:300]}" if text else "."), code="upstream_no_image", type="api_error")
    if not images:
        raise UpstreamError(400, f"Gemini's safety filters blocked the image ({blocked}).",
                            code="content_policy_violation", upstream_status=200)
    usage.images = len(images)
    as_url = body.get("response_format") == "url"  # Gemini returns bytes, so the URL is a data: URL
    out = {"created": int(time.time()),
           "data": [{"url": f"data:{mime};base64,{b64}"} if as_url else {"b64_json": b64} for mime, b64 in images]}
    return out, usage


# -- errors -----------------------------------------------------------------------------------------

# HTTP statuses of Google's canonical error codes, for errors that arrive inside a stream.
STATUS_CODES = {"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403,
                "NOT_FOUND": 404, "RESOURCE_EXHAUSTED": 429, "INTERNAL": 500, "UNAVAILABLE": 503,
                "DEADLINE_EXCEEDED": 504}


# -- audio transcription and translation -------------------------------------------------------

TRANSCRIBE = ("Transcribe the speech in this audio verbatim, in the language it is spoken. Reply with the "
              "transcript only: no preamble, no timestamps, no speaker labels.")
TRANSLATE = ("Translate the speech in this audio into English. Reply with the English translation only: "
             "no preamble, no timestamps, no speaker labels.")


def transcription_request(upload: AudioUpload) -> JSON:
    """The audio inline (Gemini takes up to 20 MB a request that way) after the instruction;
    OpenAI's `prompt` and `language` become hints in it."""
    instruction = TRANSLATE if upload.task == "translations" else TRANSCRIBE
    if upload.language and upload.task != "translations":
        instruction += f" The audio is in the language with ISO-639-1 code '{upload.language}'."
    if upload.prompt:
        instruction += f" Context from the user (style, spellings, earlier speech): {upload.prompt}"
    audio = {"inlineData": {"mimeType": media_type(upload.file.content_type, upload.file.filename),
                            "data": base64.b64encode(upload.file.data).decode()}}
    return {"contents": [{"role": "user", "parts": [{"text": instruction}, audio]}],
            "generationConfig": {"temperature": 0}}


def transcription_text(data: JSON, provider: str) -> tuple[str, Usage]:
    """The transcript a GenerateContentResponse holds, and its token usage."""
    candidates = data.get("candidates") or ()
    if not candidates:
        blocked = (data.get("promptFeedback") or {}).get("blockReason")
        raise errors.bad_response(provider, f"no transcript (the prompt was blocked: {blocked})" if blocked
                                  else "no candidates")
    text, _ = read_parts((candidates[0].get("content") or {}).get("parts") or (), 0)
    return text.strip(), usage_of(data.get("usageMetadata") or {})


def upstream_error(provider: str, status: int, body: bytes, credential: Credential | None,
                   headers: dict[str, str] | None = None) -> UpstreamError:
    """A Gemini error body ({"error": {"code", "message", "status"}}, maybe in a list) -> the
    shared mapping, with Google's status name as the error code."""
    fields = errors.error_fields(body)
    details = fields.get("details")
    if any(isinstance(d, dict) and d.get("reason") == "API_KEY_INVALID" for d in details or ()):
        status = 401  # Gemini says 400 to a bad key: the gateway's credential is at fault, not the request
    name = fields.get("status")
    normal = {"message": fields.get("message") or f"HTTP {status}",
              "code": name.lower() if isinstance(name, str) else fields.get("code")}
    return errors.from_status(provider, status, orjson.dumps({"error": normal}), credential, headers)


def stream_error(provider: str, chunk: JSON, credential: Credential | None) -> UpstreamError:
    err = chunk["error"] if isinstance(chunk["error"], dict) else {"message": str(chunk["error"])}
    code = err.get("code")
    status = code if isinstance(code, int) and 400 <= code < 600 else STATUS_CODES.get(str(err.get("status")), 502)
    return upstream_error(provider, status, orjson.dumps(chunk), credential)


parse = errors.json_object
