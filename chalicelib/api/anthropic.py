"""Wire models of Anthropic's Messages API, for validating what clients send.

Only the fields aihub reads are checked. Unknown fields and block types are allowed: on the
native path the client's own body goes to Anthropic, which knows more block types than this
file; the translated path refuses what it cannot translate, naming the field.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    Tag,
    model_validator,
)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# What each known block type must carry (name -> type); other block types pass unchecked.
_BLOCK_FIELDS: dict[str, tuple[tuple[str, type, str], ...]] = {
    "text": (("text", str, "a string"),),
    "image": (("source", dict, "an object"),),
    "document": (("source", dict, "an object"),),
    "tool_use": (("id", str, "a string"), ("name", str, "a string"), ("input", dict, "an object")),
    "tool_result": (("tool_use_id", str, "a string"),),
    "thinking": (("thinking", str, "a string"), ("signature", str, "a string")),
    "redacted_thinking": (("data", str, "a string"),),
}


def _problem(block: dict[str, Any]) -> str | None:
    """What is wrong with a block of a known type (None: nothing, or a type not checked here)."""
    kind = block.get("type")
    for name, expected, what in _BLOCK_FIELDS.get(kind, ()) if isinstance(kind, str) else ():
        if not isinstance(block.get(name), expected):
            return f"{kind} blocks need '{name}' ({what})"
    if kind == "tool_result":  # its content is read when translating, so it is checked too
        content = block.get("content")
        if content is not None and not isinstance(content, str | list):
            return "a tool_result block's content must be a string or a list of blocks"
        for part in content if isinstance(content, list) else ():
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                return "a tool_result block's content must be a string or a list of blocks"
            if (problem := _problem(part)) is not None:
                return f"in its content, {problem}"
    return None


class Block(_Open):
    type: str = Field(min_length=1)

    @model_validator(mode="after")
    def _fields_of_its_type(self) -> Block:
        problem = _problem({**(self.model_extra or {}), "type": self.type})
        if problem is not None:
            raise ValueError(problem)
        return self


def _text_or_list(value: Any) -> str:
    return "str" if isinstance(value, str) else "list"


# A string or a list of blocks; the discriminator makes an error in a block name that block,
# rather than also saying that the content is not a string.
Content = Annotated[Annotated[str, Tag("str")] | Annotated[list[Block], Tag("list")], Discriminator(_text_or_list)]


class Message(_Open):
    role: Literal["user", "assistant"]
    content: Content


class Tool(_Open):
    name: str = Field(min_length=1)
    type: str | None = None  # None or "custom": the client's own tool; else one of Anthropic's server tools
    input_schema: dict[str, Any] | None = None


class ToolChoice(_Open):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: StrictBool | None = None

    @model_validator(mode="after")
    def _tool_named(self) -> ToolChoice:
        if self.type == "tool" and not self.name:
            raise ValueError("tool_choice of type 'tool' needs the tool's name")
        return self


class OutputFormat(_Open):
    type: str
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")  # `schema` is a BaseModel name


class OutputConfig(_Open):
    format: OutputFormat | None = None


class _Prompt(_Open):
    """What a Messages request and a token count share."""

    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    system: Content | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: dict[str, Any] | None = None
    output_config: OutputConfig | None = None


class MessagesRequest(_Prompt):
    max_tokens: int = Field(ge=1)
    stream: StrictBool | None = None
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    stop_sequences: list[str] | None = None
    metadata: dict[str, Any] | None = None


class CountTokensRequest(_Prompt):
    pass


