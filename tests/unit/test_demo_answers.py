"""demo/echo's answer rules: when it calls a tool, which one, and what response_format gives."""
from __future__ import annotations

import json

import jsonschema
import pytest

from chalicelib.errors import ApiError
from chalicelib.providers import demo

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
CLOCK = {"type": "function", "function": {"name": "get_time"}}
TOOLS = [WEATHER, CLOCK]


def _ask(text: str, **extra) -> dict:
    return {"messages": [{"role": "user", "content": text}], **extra}


@pytest.mark.parametrize(
    ("body", "called"),
    [
        (_ask("hi"), None),  # no tools
        (_ask("hi", tools=TOOLS), None),  # auto, and the user names no tool
        (_ask("call get_time please", tools=TOOLS), "get_time"),  # auto, named by the user
        (_ask("call get_timer", tools=TOOLS), None),  # a whole name only
        (_ask("call get_time please", tools=TOOLS, tool_choice="none"), None),
        (_ask("hi", tools=TOOLS, tool_choice="required"), "get_weather"),  # the first tool
        (_ask("use get_time", tools=TOOLS, tool_choice="required"), "get_time"),
        (_ask("hi", tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_time"}}), "get_time"),
        # after the tool's result the last message is not the user's: answer in text
        ({"tools": TOOLS, "messages": [{"role": "user", "content": "get_time"},
                                       {"role": "assistant", "tool_calls": []},
                                       {"role": "tool", "tool_call_id": "c", "content": "12:00"}]}, None),
    ],
)
def test_which_tool_is_called(body, called):
    function = demo.tool_to_call(body)
    assert (function and function["name"]) == called


def test_tool_choice_naming_an_unknown_function_is_a_400():
    with pytest.raises(ApiError) as failed:
        demo.tool_to_call(_ask("hi", tools=TOOLS, tool_choice={"type": "function", "function": {"name": "nope"}}))
    assert failed.value.status == 400 and failed.value.param == "tool_choice"


def test_a_tool_call_completion_and_its_stream_agree():
    body = _ask("hi", tools=TOOLS, tool_choice="required")
    done = demo.chat_completion(body, "demo/echo")
    (call,) = done["choices"][0]["message"]["tool_calls"]
    jsonschema.validate(json.loads(call["function"]["arguments"]), WEATHER["function"]["parameters"])
    chunks = demo.chat_events(body, "demo/echo")
    pieces = [tc["function"].get("arguments", "") for c in chunks for ch in c["choices"]
              for tc in ch["delta"].get("tool_calls", ())]
    assert json.loads("".join(pieces)) == json.loads(call["function"]["arguments"])
    assert [ch["finish_reason"] for c in chunks for ch in c["choices"] if ch["finish_reason"]] == ["tool_calls"]


@pytest.mark.parametrize(
    ("response_format", "check"),
    [
        (None, lambda text: text.startswith("This is aihub's offline demo model")),
        ({"type": "text"}, lambda text: "hello" in text),
        ({"type": "json_object"}, lambda text: isinstance(json.loads(text), dict)),
        ({"type": "json_schema", "json_schema": {"name": "x", "schema": {
            "type": "object", "properties": {"n": {"type": "integer", "minimum": 3}}, "required": ["n"]}}},
         lambda text: json.loads(text) == {"n": 3}),
    ],
)
def test_response_format(response_format, check):
    body = _ask("hello", **({"response_format": response_format} if response_format else {}))
    assert check(demo.chat_completion(body, "demo/echo")["choices"][0]["message"]["content"])


def test_token_array_inputs():
    assert demo.embedding_inputs([5, 6, 7]) == demo.embedding_inputs([[5, 6, 7]]) == [("tokens:5,6,7", 3)]
    assert demo.embedding_inputs(["a b", "c"]) == [("a b", 2), ("c", 1)]
    assert demo.embedding_inputs("a b") == [("a b", 2)]
