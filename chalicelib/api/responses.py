"""Wire models of OpenAI's Responses API (POST /v1/responses): the fields aihub reads.

Like the chat models, unknown fields are allowed: the client's own body is what goes to a
provider that speaks this API natively, so only what aihub itself reads is checked here.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class InputItem(_Open):
    """One item of `input`: a message (with or without `type`), a function call, its output, or
    any other item type (reasoning, built-in tool calls), which only OpenAI itself takes."""

    type: str | None = None
    role: Literal["user", "assistant", "system", "developer"] | None = None
    content: str | list[dict[str, Any]] | None = None
    call_id: str | None = Field(default=None, min_length=1)
    name: str | None = None
    arguments: str | None = None
    output: str | list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _shape(self) -> InputItem:
        kind = self.type or "message"
        if kind == "message" and (self.role is None or self.content is None):
            raise ValueError("a message item needs a role and content")
        if kind == "function_call" and (self.call_id is None or self.name is None or self.arguments is None):
            raise ValueError("a function_call item needs call_id, name and arguments")
        if kind == "function_call_output" and (self.call_id is None or self.output is None):
            raise ValueError("a function_call_output item needs call_id and output")
        return self


class Tool(_Open):
    type: str = Field(min_length=1)
    name: str | None = None

    @model_validator(mode="after")
    def _function_named(self) -> Tool:
        if self.type == "function" and not self.name:
            raise ValueError("a function tool needs a name")
        return self


class TextFormat(_Open):
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")

    @model_validator(mode="after")
    def _schema_given(self) -> TextFormat:
        if self.type == "json_schema" and (not self.name or self.schema_ is None):
            raise ValueError("a json_schema format needs a name and a schema")
        return self


class Text(_Open):
    format: TextFormat | None = None


class Reasoning(_Open):
    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None


class ResponseCreateRequest(_Open):
    model: str = Field(min_length=1)
    # The list first: a bad item is then the error reported (with its index), not "not a string".
    input: list[InputItem] | str
    instructions: list[InputItem] | str | None = None
    previous_response_id: str | None = Field(default=None, min_length=1)
    stream: StrictBool | None = None
    store: StrictBool | None = None
    # Background responses are polled through GET, which would need the provider's own copy.
    background: Literal[False] | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = None
    parallel_tool_calls: StrictBool | None = None
    text: Text | None = None
    reasoning: Reasoning | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    metadata: dict[str, str] | None = None


class InputItemsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")  # `include[]` and the like change nothing here

    limit: int = Field(default=20, ge=1, le=100)
    order: Literal["asc", "desc"] = "desc"
    after: str | None = None
