"""Pure translation between Gemini's generateContent dialect (the client's) and the internal
OpenAI chat form, both ways, streams and errors included. No I/O here.

The tables are the Gemini provider's own (chalicelib/providers/gemini/translate.py) read
backwards: the same facts serve a Gemini upstream and a Gemini client.
"""
from __future__ import annotations

import uuid
from typing import Any

import orjson

from chalicelib.errors import ApiError, bad_request
from chalicelib.providers.base import Usage
from chalicelib.providers.gemini import translate as gemini
from chalicelib.providers.sse import frame
from chalicelib.providers.streaming import estimate_tokens

JSON = dict[str, Any]

# -- errors -------------------------------------------------------------------------------------

# Google's canonical status names by HTTP status: the provider's table read backwards (its
# first name for a status wins), plus the statuses the gateway itself answers with.
_STATUS_NAMES: dict[int, str] = {}
for _name, _code in gemini.STATUS_CODES.items():
    _STATUS_NAMES.setdefault(_code, _name)
_STATUS_NAMES.update({402: "RESOURCE_EXHAUSTED", 405: "UNIMPLEMENTED", 409: "ABORTED", 413: "INVALID_ARGUMENT",
                      422: "INVALID_ARGUMENT", 501: "UNIMPLEMENTED", 502: "UNAVAILABLE"})


def status_name(status: int) -> str:
    return _STATUS_NAMES.get(status, "INTERNAL" if status >= 500 else "INVALID_ARGUMENT")


def error_body(error: ApiError) -> JSON:
    return {"error": {"code": error.status, "message": error.message, "status": status_name(error.status)}}


def error_event(error: ApiError) -> bytes:
    return frame(orjson.dumps(error_body(error)))


# -- request: generateContent -> OpenAI chat -----------------------------------------------------

_TOOL_CHOICES = {mode: choice for choice, mode in gemini.TOOL_MODES.items()}  # AUTO -> auto ...
_SAME_VALUE = tuple((theirs, ours) for ours, theirs in gemini.SAME_VALUE)  # topP -> top_p ...
# The audio formats OpenAI's input_audio takes.
_AUDIO_FORMATS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/mp3": "mp3", "audio/mpeg": "mp3"}


def _unsupported(what: str, param: str) -> ApiError:
    return bad_request(f"{param}: {what} cannot be translated for this model's provider; use a Gemini model.",
                       param=param, code="unsupported_content")


def to_openai(body: JSON, model: str, *, stream: bool = False, lenient: bool = False) -> JSON:
    """The internal OpenAI chat body of a GenerateContentRequest. `lenient` drops what has no
    OpenAI form (for a model that a native provider serves, whose body goes up as it is)."""
    messages = _system(body.get("systemInstruction"))
    ids = _CallIds()
    for i, turn in enumerate(body.get("contents") or ()):
        messages.extend(_turn(turn, i, ids, lenient))
    out: JSON = {"model": model, "messages": messages}
    tools = _tools(body.get("tools") or (), lenient)
    if tools:
        out["tools"] = tools
        choice = _tool_choice(body.get("toolConfig"))
        if choice is not None:
            out["tool_choice"] = choice
    out.update(_generation(body.get("generationConfig") or {}))
    if stream:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}  # the last chunk's usageMetadata needs it
    return out


def _system(instruction: Any) -> list[JSON]:
    if instruction is None:
        return []
    if isinstance(instruction, str):
        return [{"role": "system", "content": instruction}]
    texts = [p.get("text") for p in instruction.get("parts") or () if isinstance(p.get("text"), str)]
    return [{"role": "system", "content": "\n".join(texts)}] if texts else []


class _CallIds:
    """Tool call ids: a functionCall's own `id`, else one made up; a functionResponse without
    an id answers the earliest unanswered call of its name, as Gemini pairs them."""

    def __init__(self) -> None:
        self.count = 0
        self.open: dict[str, list[str]] = {}

    def call(self, call: JSON) -> str:
        self.count += 1
        made = call.get("id") or f"call_{self.count}"
        self.open.setdefault(call.get("name", ""), []).append(made)
        return made

    def answer(self, response: JSON) -> str:
        waiting = self.open.get(response.get("name", ""), [])
        given = response.get("id")
        if given in waiting:
            waiting.remove(given)
            return given
        if given:
            return given
        return waiting.pop(0) if waiting else f"call_{response.get('name', '')}"


def _turn(turn: JSON, i: int, ids: _CallIds, lenient: bool) -> list[JSON]:
    role = turn.get("role") or "user"
    parts = [p for p in turn.get("parts") or () if not p.get("thought")]  # thoughts are signed for Gemini alone
    if role == "model":
        return [_model_message(parts, i, ids, lenient)]
    out: list[JSON] = []
    content: list[JSON] = []
    for j, part in enumerate(parts):
        param = f"contents[{i}].parts[{j}]"
        if "functionResponse" in part:
            response = part["functionResponse"]
            out.append({"role": "tool", "tool_call_id": ids.answer(response),
                        "content": orjson.dumps(response.get("response") or {}).decode()})
        elif (piece := _user_piece(part, param, lenient)) is not None:
            content.append(piece)
    if content:
        text_only = all(p["type"] == "text" for p in content)
        out.append({"role": "user",
                    "content": "".join(p["text"] for p in content) if text_only else content})
    return out


def _user_piece(part: JSON, param: str, lenient: bool) -> JSON | None:
    if isinstance(part.get("text"), str):
        return {"type": "text", "text": part["text"]}
    if "inlineData" in part:
        data = part["inlineData"]
        mime, b64 = data.get("mimeType") or "", data.get("data") or ""
        if mime.startswith("image/"):
            return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{b64}"}}
        if mime in _AUDIO_FORMATS:
            return {"type": "input_audio", "input_audio": {"data": b64, "format": _AUDIO_FORMATS[mime]}}
        return {"type": "file", "file": {"file_data": f"data:{mime};base64,{b64}",
                                         "filename": data.get("displayName") or "file"}}
    if "fileData" in part and (part["fileData"].get("mimeType") or "").startswith("image/"):
        return {"type": "image_url", "image_url": {"url": part["fileData"].get("fileUri")}}
    if lenient:
        return None
    kind = next(iter(part), "an empty part")
    raise _unsupported(f"a {kind} part", param)


def _model_message(parts: list[JSON], i: int, ids: _CallIds, lenient: bool) -> JSON:
    text = ""
    calls: list[JSON] = []
    for j, part in enumerate(parts):
        if isinstance(part.get("text"), str):
            text += part["text"]
        elif "functionCall" in part:
            call = part["functionCall"]
            calls.append({"id": ids.call(call), "type": "function",
                          "function": {"name": call.get("name", ""),
                                       "arguments": orjson.dumps(call.get("args") or {}).decode()}})
        elif not lenient:
            raise _unsupported(f"a {next(iter(part), 'empty')} part in a model turn", f"contents[{i}].parts[{j}]")
    message: JSON = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = calls
    return message


def _tools(tools: Any, lenient: bool) -> list[JSON]:
    out = []
    for i, tool in enumerate(tools):
        for key in tool:
            if key != "functionDeclarations" and not lenient:
                raise _unsupported(f"the {key} tool", f"tools[{i}].{key}")
        for declaration in tool.get("functionDeclarations") or ():
            function: JSON = {"name": declaration.get("name", "")}
            if declaration.get("description"):
                function["description"] = declaration["description"]
            schema = declaration.get("parametersJsonSchema") or json_schema(declaration.get("parameters"))
            function["parameters"] = schema or {"type": "object", "properties": {}}
            out.append({"type": "function", "function": function})
    return out


def _tool_choice(config: Any) -> Any:
    calling = (config or {}).get("functionCallingConfig") or {}
    mode = calling.get("mode")
    if mode is None:
        return None
    if mode not in _TOOL_CHOICES:
        raise bad_request(f"toolConfig.functionCallingConfig.mode {mode!r} is not one of AUTO, ANY, NONE.",
                          param="toolConfig.functionCallingConfig.mode")
    allowed = calling.get("allowedFunctionNames") or ()
    if mode == "ANY" and len(allowed) == 1:
        return {"type": "function", "function": {"name": allowed[0]}}
    return _TOOL_CHOICES[mode]


def json_schema(schema: Any) -> Any:
    """Gemini's Schema (OpenAPI's subset, types in capitals, `nullable`) -> JSON Schema."""
    if isinstance(schema, list):
        return [json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: JSON = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            out["type"] = value.lower()
        elif key == "properties" and isinstance(value, dict):
            out["properties"] = {name: json_schema(s) for name, s in value.items()}
        elif key in ("items", "anyOf"):
            out[key] = json_schema(value)
        elif key not in ("nullable", "propertyOrdering"):
            out[key] = value
    if schema.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def _generation(config: JSON) -> JSON:
    out: JSON = {ours: config[theirs] for theirs, ours in _SAME_VALUE if config.get(theirs) is not None}
    if config.get("maxOutputTokens") is not None:
        out["max_completion_tokens"] = config["maxOutputTokens"]
    if config.get("stopSequences"):
        out["stop"] = config["stopSequences"]
    mime = config.get("responseMimeType")
    schema = config.get("responseJsonSchema") or json_schema(config.get("responseSchema"))
    if mime == "application/json" or schema:
        out["response_format"] = ({"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}
                                  if schema else {"type": "json_object"})
    elif mime not in (None, "text/plain"):
        raise bad_request(f"generationConfig.responseMimeType {mime!r} cannot be translated for this model's "
                          "provider; use application/json or text/plain.",
                          param="generationConfig.responseMimeType")
    effort = reasoning_effort(config.get("thinkingConfig"))
    if effort is not None:
        out["reasoning_effort"] = effort
    return out


def reasoning_effort(thinking: Any) -> str | None:
    """thinkingBudget (tokens) or thinkingLevel -> the least reasoning_effort that covers it;
    a dynamic budget (-1) or none leaves the provider's default."""
    if not isinstance(thinking, dict):
        return None
    # Google's JSON parser takes proto field names too, and the google-genai SDK sends this
    # object's fields so (`thinking_budget`).
    level = thinking.get("thinkingLevel", thinking.get("thinking_level"))
    if isinstance(level, str):
        return next((e for e, lv in gemini.THINKING_LEVELS.items() if lv == level.lower() and e != "none"), None)
    budget = thinking.get("thinkingBudget", thinking.get("thinking_budget"))
    if not isinstance(budget, int) or budget < 0:
        return None
    return next((e for e, b in gemini.THINKING_BUDGETS.items() if b >= budget), "high")


# -- answer: OpenAI chat -> GenerateContentResponse ----------------------------------------------

# stop -> STOP, length -> MAX_TOKENS, content_filter -> SAFETY (its first source wins).
_FINISH = {"tool_calls": "STOP", "function_call": "STOP"}
for _reason, _ours in gemini.FINISH_REASONS.items():
    _FINISH.setdefault(_ours, _reason)


def finish_reason(reason: str | None) -> str:
    return _FINISH.get(reason or "stop", "OTHER")


def function_call(call: JSON) -> JSON:
    function = call.get("function") or {}
    try:
        args = orjson.loads(function.get("arguments") or "{}")
    except orjson.JSONDecodeError:
        args = {}
    return {"functionCall": {"id": call.get("id"), "name": function.get("name", ""),
                             "args": args if isinstance(args, dict) else {}}}


def usage_metadata(usage: Usage) -> JSON:
    prompt = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
    out: JSON = {"promptTokenCount": prompt, "candidatesTokenCount": usage.output_tokens - usage.reasoning_tokens,
                 "totalTokenCount": prompt + usage.output_tokens}
    if usage.cache_read_tokens:
        out["cachedContentTokenCount"] = usage.cache_read_tokens
    if usage.reasoning_tokens:
        out["thoughtsTokenCount"] = usage.reasoning_tokens
    return out


def openai_usage(usage: JSON) -> Usage:
    """OpenAI's usage (every input token in prompt_tokens) -> Usage, inputs split as Usage keeps them."""
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    return Usage(input_tokens=(usage.get("prompt_tokens") or 0) - cached,
                 output_tokens=usage.get("completion_tokens") or 0, cache_read_tokens=cached,
                 reasoning_tokens=reasoning)


def _candidate(choice: JSON) -> JSON:
    message = choice.get("message") or {}
    parts: list[JSON] = [{"text": message["content"]}] if message.get("content") else []
    parts += [function_call(c) for c in message.get("tool_calls") or ()]
    return {"content": {"role": "model", "parts": parts}, "finishReason": finish_reason(choice.get("finish_reason")),
            "index": choice.get("index", 0)}


def response_from(body: bytes) -> bytes:
    """A chat.completion -> GenerateContentResponse."""
    data = orjson.loads(body)
    out: JSON = {"candidates": [_candidate(c) for c in data.get("choices") or ()]}
    if data.get("usage"):
        out["usageMetadata"] = usage_metadata(openai_usage(data["usage"]))
    out.update(modelVersion=data.get("model"), responseId=data.get("id") or _new_id())
    return orjson.dumps(out)


def _new_id() -> str:
    return uuid.uuid4().hex[:24]


class ResponseStream:
    """OpenAI chunk frames -> streamGenerateContent?alt=sse chunks, one renderer per call.

    Text goes out as it comes. A tool call comes in pieces (its arguments in fragments), so
    it goes out whole with its candidate's finishReason; those final chunks wait for close(),
    where the usage the provider reported is known (Gemini puts it on the last chunk).
    """

    def __init__(self) -> None:
        self.id: str | None = None
        self.model: str | None = None
        self.calls: dict[int, dict[int, JSON]] = {}  # candidate index -> tool index -> call so far
        self.finished: list[JSON] = []

    def _chunk(self, candidates: list[JSON], **extra: Any) -> bytes:
        return frame(orjson.dumps({"candidates": candidates, **extra, "modelVersion": self.model,
                                   "responseId": self.id}))

    def feed(self, data: bytes) -> bytes:
        payload = data.removeprefix(b"data: ").strip()
        if not payload.startswith(b"{"):
            return b""  # [DONE]
        chunk = orjson.loads(payload)
        self.id = self.id or chunk.get("id") or _new_id()
        self.model = self.model or chunk.get("model")
        out: list[JSON] = []
        for choice in chunk.get("choices") or ():
            index = choice.get("index", 0)
            delta = choice.get("delta") or {}
            for piece in delta.get("tool_calls") or ():
                call = self.calls.setdefault(index, {}).setdefault(
                    piece.get("index", 0), {"id": None, "function": {"name": "", "arguments": ""}})
                call["id"] = call["id"] or piece.get("id")
                function = piece.get("function") or {}
                call["function"]["name"] += function.get("name") or ""
                call["function"]["arguments"] += function.get("arguments") or ""
            if delta.get("content"):
                out.append({"content": {"role": "model", "parts": [{"text": delta["content"]}]}, "index": index})
            if choice.get("finish_reason"):
                calls = [function_call(c) for _, c in sorted(self.calls.pop(index, {}).items())]
                self.finished.append({"content": {"role": "model", "parts": calls},
                                      "finishReason": finish_reason(choice["finish_reason"]), "index": index})
        return self._chunk(out) if out else b""

    def close(self, usage: Usage | None, error: ApiError | None) -> bytes:
        if error is not None:
            return error_event(error)
        meta = {"usageMetadata": usage_metadata(usage)} if usage is not None else {}
        return self._chunk(self.finished, **meta)


class Relay:
    """The native path's renderer: Gemini's own chunks pass as they are; a failure mid-stream
    ends the stream with an error chunk, as Gemini's own stream does."""

    passes_through = True

    def feed(self, data: bytes) -> bytes:
        return data

    def close(self, usage: Usage | None, error: ApiError | None) -> bytes:
        return error_event(error) if error is not None else b""


# -- countTokens and embeddings ------------------------------------------------------------------


def estimate_tokens_of(body: JSON) -> int:
    """An estimate of a request's prompt tokens (about four characters a token), for
    countTokens on providers that have no such call."""
    request = body.get("generateContentRequest") or body
    return estimate_tokens(gemini.text_chars(request))


def embed_texts(body: JSON, method: str) -> list[str]:
    """The texts of an embedContent or batchEmbedContents request, in order."""
    requests = body.get("requests") or () if method == "batchEmbedContents" else (body,)
    out = []
    for i, request in enumerate(requests):
        parts = (request.get("content") or {}).get("parts") or ()
        texts = [p.get("text") for p in parts if isinstance(p.get("text"), str)]
        if len(texts) != len(parts):
            param = f"requests[{i}].content.parts" if method == "batchEmbedContents" else "content.parts"
            raise bad_request(f"{param}: only text can be embedded by this model's provider.", param=param)
        out.append(" ".join(texts))
    return out


def embed_to_openai(body: JSON, method: str, model: str) -> JSON:
    requests = body.get("requests") or () if method == "batchEmbedContents" else (body,)
    dimensions = {r.get("outputDimensionality") for r in requests} - {None}
    if len(dimensions) > 1:
        raise bad_request("All requests of a batch must ask for the same outputDimensionality.",
                          param="requests.outputDimensionality")
    out: JSON = {"model": model, "input": embed_texts(body, method)}
    if dimensions:
        out["dimensions"] = dimensions.pop()
    return out


def embed_from_openai(body: bytes, method: str) -> bytes:
    """An OpenAI embedding list -> EmbedContentResponse or BatchEmbedContentsResponse."""
    vectors = [d["embedding"] for d in sorted(orjson.loads(body)["data"], key=lambda d: d["index"])]
    if method == "batchEmbedContents":
        return orjson.dumps({"embeddings": [{"values": v} for v in vectors]})
    return orjson.dumps({"embedding": {"values": vectors[0]}})

