"""Wire models of the OpenAI-compatible API, for validating what clients send.

Unknown fields are allowed and the client's own dict is what goes upstream, so anything a
provider supports passes through; these models only catch what is wrong before it costs a call.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from chalicelib.api.limits import INT64, MAX_DIMENSIONS, MAX_TOKENS, Integer, Name

Role = Literal["system", "user", "assistant", "tool", "developer", "function"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _OtherRoute(_Open):
    """The body of a route other than chat completions: its validator is built on its first use,
    not when the chat route's cold start imports this module."""

    model_config = ConfigDict(extra="allow", defer_build=True)


class _Tagged(_Open):
    """OpenAI's tagged objects, {"type": "x", "x": {...}}: the member the type names must be there
    (and be what it should), else the adapters that translate it would meet a bool or a list."""

    type: str

    @model_validator(mode="after")
    def _named_member_present(self) -> _Tagged:
        if self.type in type(self).model_fields and getattr(self, self.type) is None:
            raise ValueError(f"a part of type '{self.type}' needs '{self.type}'")
        return self


class ImageUrl(_Open):
    url: str


class InputAudio(_Open):
    data: str
    format: str | None = None


class FileData(_Open):
    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class ContentPart(_Tagged):
    text: str | None = None
    image_url: ImageUrl | None = None
    input_audio: InputAudio | None = None
    file: FileData | None = None


class FunctionCall(_Open):
    name: Name
    arguments: str | None = None  # JSON text, as OpenAI sends it


class ToolCall(_Tagged):
    type: str = "function"
    id: str | None = None
    function: FunctionCall | None = None


class Message(_Open):
    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    function_call: FunctionCall | None = None

    @model_validator(mode="after")
    def _content_required(self) -> Message:
        if self.content is None and self.role in ("user", "system", "developer", "tool"):
            raise ValueError(f"{self.role} messages need content")
        return self


class FunctionDefinition(_Open):
    name: Name
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: StrictBool | None = None


class Tool(_Tagged):
    function: FunctionDefinition | None = None


class NamedFunction(_Open):
    name: Name


class ToolChoice(_Tagged):
    function: NamedFunction | None = None


class JsonSchema(_Open):
    name: Name
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: StrictBool | None = None


class ResponseFormat(_Tagged):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchema | None = None


class StreamOptions(_Open):
    include_usage: StrictBool | None = None


class ChatCompletionRequest(_Open):
    model: Name
    messages: list[Message] = Field(min_length=1)
    stream: StrictBool | None = None
    stream_options: StreamOptions | None = None
    n: Integer | None = Field(default=None, ge=1, le=128)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    max_tokens: Integer | None = Field(default=None, ge=1, le=MAX_TOKENS)
    max_completion_tokens: Integer | None = Field(default=None, ge=1, le=MAX_TOKENS)
    stop: str | list[str] | None = None
    seed: Integer | None = Field(default=None, ge=-INT64 - 1, le=INT64)
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | ToolChoice | None = None
    response_format: ResponseFormat | None = None


class EmbeddingRequest(_OtherRoute):
    model: Name
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: Integer | None = Field(default=None, ge=1, le=MAX_DIMENSIONS)

    @model_validator(mode="after")
    def _input_not_empty(self) -> EmbeddingRequest:
        if self.input == "" or self.input == []:
            raise ValueError("input must not be empty")
        return self


class ImageRequest(_OtherRoute):
    model: Name
    prompt: str = Field(min_length=1)
    n: Integer | None = Field(default=None, ge=1, le=10)
    response_format: Literal["url", "b64_json"] | None = None
    size: str | None = None
    # Streamed image generation (partial images) is not relayed: refuse it before it costs.
    stream: Literal[False] | None = None


class CompletionRequest(_OtherRoute):
    """The legacy text completion: a prompt as text, tokens, or a batch of either."""

    model: str = Field(min_length=1)
    prompt: str | list[str] | list[int] | list[list[int]]
    stream: StrictBool | None = None
    stream_options: StreamOptions | None = None
    n: int | None = Field(default=None, ge=1, le=128)
    max_tokens: int | None = Field(default=None, ge=0)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    stop: str | list[str] | None = None
    seed: int | None = None
    suffix: str | None = None
    echo: StrictBool | None = None
    logprobs: int | None = Field(default=None, ge=0, le=5)
    best_of: int | None = Field(default=None, ge=0, le=20)


class ModerationRequest(_OtherRoute):
    model: str | None = None
    input: str | list[str] | list[dict[str, Any]]

    @model_validator(mode="after")
    def _input_not_empty(self) -> ModerationRequest:
        if self.input == "" or self.input == []:
            raise ValueError("input must not be empty")
        return self
