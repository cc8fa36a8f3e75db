"""Wire models of AIGNE Hub v2 (shared/aigne-hub-v2.md): the invoke envelope and its inputs.

Validation only: unknown keys are allowed (the client's core adds its own, e.g. cacheConfig) and
the translator reads the client's dict; these catch what is wrong before it costs a call.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class TextPart(_Open):
    type: Literal["text"]
    text: str


class UrlPart(_Open):
    type: Literal["url"]
    url: str = Field(min_length=1)
    mimeType: str | None = None


class FilePart(_Open):
    type: Literal["file"]
    data: str = Field(min_length=1)
    mimeType: str | None = None


class FunctionCall(_Open):
    name: str = Field(min_length=1)
    arguments: dict[str, Any] | str | None = None


class ToolCall(_Open):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(_Open):
    role: Literal["system", "user", "agent", "tool"]
    content: str | list[TextPart | UrlPart | FilePart] | None = None
    toolCalls: list[ToolCall] | None = None
    toolCallId: str | None = None

    @model_validator(mode="after")
    def _something_said(self) -> Message:
        if self.content is None and not self.toolCalls:
            raise ValueError(f"{self.role} messages need content")
        if self.role == "tool" and not self.toolCallId:
            raise ValueError("tool messages need toolCallId")
        return self


class Function(_Open):
    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] | None = None


class Tool(_Open):
    type: Literal["function"] = "function"
    function: Function


class JsonSchema(_Open):
    name: str = Field(min_length=1)
    schema_: dict[str, Any] = Field(alias="schema")


class ResponseFormat(_Open):
    type: Literal["text", "json_schema"]
    jsonSchema: JsonSchema | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and self.jsonSchema is None:
            raise ValueError("json_schema needs jsonSchema")
        return self


class ModelOptions(_Open):
    model: str | None = None
    temperature: float | None = None
    topP: float | None = None


class ChatInput(_Open):
    messages: list[Message] = Field(min_length=1)
    tools: list[Tool] | None = None
    toolChoice: Literal["auto", "none", "required"] | Tool | None = None
    responseFormat: ResponseFormat | None = None
    modelOptions: ModelOptions | None = None


class ImageInput(_Open):
    prompt: str = Field(min_length=1)
    n: int | None = Field(default=None, ge=1, le=10)
    modelOptions: ModelOptions | None = None


class VideoInput(_Open):
    prompt: str = Field(min_length=1)
    seconds: str | int | float | None = None  # the SDK sends a string: "4"
    size: str | None = None
    model: str | None = None  # the SDK repeats modelOptions.model here
    modelOptions: ModelOptions | None = None


class EmbeddingInput(_Open):
    input: str | list[str] | list[int] | list[list[int]]
    modelOptions: ModelOptions | None = None


class Options(_Open):
    streaming: bool | None = None


class Envelope(_Open):
    """`{"input": ..., "agent": "$CHAT_MODEL", "options": {...}}`, as the SDK's transport sends it."""

    input: dict[str, Any]
    options: Options | None = None


class OpenAIEmbeddings(_Open):
    """The older hub's (and the blocklet SDK's) `{model, input}` embeddings request."""

    model: str = Field(min_length=1)
    input: str | list[str] | list[int] | list[list[int]]


class ChatEnvelope(Envelope):
    input: ChatInput  # type: ignore[assignment]


class ImageEnvelope(Envelope):
    input: ImageInput  # type: ignore[assignment]


class VideoEnvelope(Envelope):
    input: VideoInput  # type: ignore[assignment]


class EmbeddingEnvelope(Envelope):
    input: EmbeddingInput  # type: ignore[assignment]


class LegacyMessage(_Open):
    role: Literal["system", "user", "assistant", "agent", "tool"]
    content: str | list[dict[str, Any]] | None = None
    toolCalls: list[ToolCall] | None = None
    toolCallId: str | None = None


class LegacyChat(_Open):
    """`/api/v2/chat/completions`: OpenAI's body in camelCase, or a bare `prompt`."""

    model: str | None = None
    messages: list[LegacyMessage] | None = None
    prompt: str | None = None
    stream: bool | None = None
    tools: list[Tool] | None = None

    @model_validator(mode="after")
    def _something_asked(self) -> LegacyChat:
        if not self.messages and not self.prompt:
            raise ValueError("messages (or prompt) is required")
        return self


class LegacyImages(_Open):
    """`/api/v2/image/generations`."""

    model: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    n: int | None = Field(default=None, ge=1, le=10)
    size: str | None = None
