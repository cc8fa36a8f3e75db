"""Wire models of the OpenAI-compatible API, for validating what clients send.

Unknown fields are allowed and the client's own dict is what goes upstream, so anything a
provider supports passes through; these models only catch what is wrong before it costs a call.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

Role = Literal["system", "user", "assistant", "tool", "developer", "function"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Message(_Open):
    role: Role
    content: str | list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _content_required(self) -> Message:
        if self.content is None and self.role in ("user", "system", "developer", "tool"):
            raise ValueError(f"{self.role} messages need content")
        return self


class StreamOptions(_Open):
    include_usage: StrictBool | None = None


class ChatCompletionRequest(_Open):
    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    stream: StrictBool | None = None
    stream_options: StreamOptions | None = None
    n: int | None = Field(default=None, ge=1, le=128)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    tools: list[dict[str, Any]] | None = None
    response_format: dict[str, Any] | None = None


class EmbeddingRequest(_Open):
    model: str = Field(min_length=1)
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _input_not_empty(self) -> EmbeddingRequest:
        if self.input == "" or self.input == []:
            raise ValueError("input must not be empty")
        return self


class ImageRequest(_Open):
    model: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    n: int | None = Field(default=None, ge=1, le=10)
    response_format: Literal["url", "b64_json"] | None = None
    size: str | None = None
    # Streamed image generation (partial images) is not relayed: refuse it before it costs.
    stream: Literal[False] | None = None


class CompletionRequest(_Open):
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


class ModerationRequest(_Open):
    model: str | None = None
    input: str | list[str] | list[dict[str, Any]]

    @model_validator(mode="after")
    def _input_not_empty(self) -> ModerationRequest:
        if self.input == "" or self.input == []:
            raise ValueError("input must not be empty")
        return self
