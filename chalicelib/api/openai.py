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


class ContentPart(_Open):
    type: str
    text: str | None = None

    @model_validator(mode="after")
    def _text_parts_have_text(self) -> ContentPart:
        if self.type == "text" and self.text is None:
            raise ValueError("text parts need text")
        return self


class Message(_Open):
    role: Role
    content: str | list[ContentPart] | None = None

    @model_validator(mode="after")
    def _content_required(self) -> Message:
        if self.content is None and self.role in ("user", "system", "developer", "tool"):
            raise ValueError(f"{self.role} messages need content")
        return self


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
    tools: list[dict[str, Any]] | None = None
    response_format: dict[str, Any] | None = None


class EmbeddingRequest(_Open):
    model: Name
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: Integer | None = Field(default=None, ge=1, le=MAX_DIMENSIONS)

    @model_validator(mode="after")
    def _input_not_empty(self) -> EmbeddingRequest:
        if self.input == "" or self.input == []:
            raise ValueError("input must not be empty")
        return self


class ImageRequest(_Open):
    model: Name
    prompt: str = Field(min_length=1)
    n: Integer | None = Field(default=None, ge=1, le=10)
    response_format: Literal["url", "b64_json"] | None = None
    size: str | None = None
    # Streamed image generation (partial images) is not relayed: refuse it before it costs.
    stream: Literal[False] | None = None
