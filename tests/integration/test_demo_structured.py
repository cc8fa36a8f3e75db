"""demo/echo as real clients lean on it: structured output through the openai SDK's `parse` and
LangChain's `with_structured_output`, tool calls (plain and streamed) whose arguments satisfy
the tool's schema (through the anthropic SDK too), token-array embeddings from LangChain's defaults, and ids unique per answer."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Literal

import anthropic
import jsonschema
import pytest
import tiktoken
from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from pydantic import BaseModel, Field

from tests.integration.conftest import calls_of
from tests.support.gateway import Gateway


class Address(BaseModel):
    street: str = Field(min_length=12)
    country: Literal["FR", "DE"]


class Person(BaseModel):
    name: str
    age: int = Field(ge=18, le=130)
    email: str | None
    tags: list[str] = Field(min_length=2)
    home: Address
    score: float = Field(gt=0.5)


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 3},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "when": {"type": "string", "format": "date"},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
                "where": {"anyOf": [{"$ref": "#/$defs/Point"}, {"type": "null"}]},
            },
            "required": ["city", "unit", "when", "days", "where"],
            "additionalProperties": False,
            "$defs": {"Point": {"type": "object", "properties": {"lat": {"type": "number", "minimum": -90}},
                                "required": ["lat"]}},
        },
    },
}
CLOCK = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}


def _langchain_url(gateway: Gateway) -> str:
    return gateway.url + "/v1"


def test_openai_sdk_parse_gives_a_valid_instance_of_the_pydantic_model(client):
    done = client.chat.completions.parse(model="demo/echo", response_format=Person,
                                         messages=[{"role": "user", "content": "describe someone"}])
    person = done.choices[0].message.parsed
    assert isinstance(person, Person)  # pydantic validated it: every bound above holds
    jsonschema.validate(json.loads(done.choices[0].message.content), Person.model_json_schema())


def test_json_object_answers_a_json_object(client):
    done = client.chat.completions.create(model="demo/echo", response_format={"type": "json_object"},
                                          messages=[{"role": "user", "content": "json please"}])
    assert isinstance(json.loads(done.choices[0].message.content), dict)


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_langchain_with_structured_output(gateway, user, method):
    model = ChatOpenAI(model="demo/echo", base_url=_langchain_url(gateway), api_key=user["key"])
    person = model.with_structured_output(Person, method=method).invoke("who is there?")
    assert isinstance(person, Person)


def test_tool_call_when_required_has_schema_valid_arguments(client):
    done = client.chat.completions.create(model="demo/echo", tools=[WEATHER, CLOCK], tool_choice="required",
                                          messages=[{"role": "user", "content": "anything"}])
    choice = done.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather" and call.id.startswith("call")
    jsonschema.validate(json.loads(call.function.arguments), WEATHER["function"]["parameters"])


def test_tool_named_by_tool_choice_or_by_the_user_is_called_and_text_after_its_result(client):
    named = client.chat.completions.create(
        model="demo/echo", tools=[WEATHER, CLOCK], messages=[{"role": "user", "content": "hi"}],
        tool_choice={"type": "function", "function": {"name": "get_time"}})
    assert named.choices[0].message.tool_calls[0].function.name == "get_time"
    asked = [{"role": "user", "content": "please use get_time now"}]
    auto = client.chat.completions.create(model="demo/echo", tools=[WEATHER, CLOCK], messages=asked)
    assert auto.choices[0].message.tool_calls[0].function.name == "get_time"
    call = auto.choices[0].message.tool_calls[0]
    answered = asked + [auto.choices[0].message.model_dump(exclude_none=True),
                        {"role": "tool", "tool_call_id": call.id, "content": "12:00"}]
    after = client.chat.completions.create(model="demo/echo", tools=[WEATHER, CLOCK], messages=answered)
    assert after.choices[0].finish_reason == "stop" and after.choices[0].message.content
    plain = client.chat.completions.create(model="demo/echo", tools=[WEATHER], messages=[{"role": "user", "content": "hi"}])
    assert plain.choices[0].message.tool_calls is None


def test_streamed_tool_call_reassembles_to_schema_valid_arguments(client):
    chunks = list(client.chat.completions.create(
        model="demo/echo", tools=[WEATHER], tool_choice="required", stream=True,
        stream_options={"include_usage": True}, messages=[{"role": "user", "content": "go"}]))
    deltas = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    assert len(deltas) > 2  # the arguments arrive in pieces, as from a real model
    assert deltas[0].id and deltas[0].function.name == "get_weather"
    arguments = "".join(d.function.arguments or "" for d in deltas)
    jsonschema.validate(json.loads(arguments), WEATHER["function"]["parameters"])
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["tool_calls"] and chunks[-1].usage.completion_tokens > 0


@pytest.fixture
def offline_tiktoken(monkeypatch: pytest.MonkeyPatch) -> None:
    """tiktoken downloads cl100k_base on first use; litellm (pinned for tests) ships that file
    under the name tiktoken caches it by, so the real encoding loads with no network."""
    spec = importlib.util.find_spec("litellm")
    assert spec is not None and spec.submodule_search_locations
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR",
                       str(Path(spec.submodule_search_locations[0]) / "litellm_core_utils" / "tokenizers"))


def test_langchain_embeddings_defaults_send_token_arrays(gateway, admin, user, offline_tiktoken):
    embedder = OpenAIEmbeddings(model="demo/embed", base_url=_langchain_url(gateway), api_key=user["key"],
                                tiktoken_model_name="text-embedding-3-small")
    texts = ["Hello, world!!", "tokenisation's quirks", "Hello, world!!"]
    vectors = embedder.embed_documents(texts)
    assert len(vectors) == 3 and vectors[0] == vectors[2] != vectors[1]
    assert embedder.embed_query("Hello, world!!") == vectors[0]
    # demo/embed counts a token array's ids but a text's words: the count shows tokens arrived
    encoding = tiktoken.get_encoding("cl100k_base")
    sent = sum(len(encoding.encode(t)) for t in texts)
    assert sent != sum(len(t.split()) for t in texts)
    documents = calls_of(admin, user["account_id"])[-1]  # newest first: the query's call is [0]
    assert documents["prompt_tokens"] == sent


def test_embeddings_of_token_arrays_directly(client):
    one = client.embeddings.create(model="demo/embed", input=[1, 2, 3])
    many = client.embeddings.create(model="demo/embed", input=[[1, 2, 3], [4, 5]])
    assert one.data[0].embedding == many.data[0].embedding != many.data[1].embedding
    assert many.usage.prompt_tokens == 5


def test_identical_requests_get_unique_ids(client):
    ask = {"model": "demo/echo", "messages": [{"role": "user", "content": "same"}]}
    ids = {client.chat.completions.create(**ask).id for _ in range(3)}
    ids |= {next(iter(client.chat.completions.create(**ask, stream=True))).id}
    ids |= {client.moderations.create(model="demo/moderation", input="same").id for _ in range(2)}
    assert len(ids) == 6


def test_the_anthropic_sdk_gets_a_forced_tool_use_from_demo_echo(gateway, user):
    # Other surfaces reach demo/echo through the same OpenAI-chat body, so its tool rule holds there too.
    claude = anthropic.Anthropic(base_url=gateway.url, api_key=user["key"], max_retries=0, timeout=20)
    fn = WEATHER["function"]
    message = claude.messages.create(
        model="demo/echo", max_tokens=200, messages=[{"role": "user", "content": "weather?"}],
        tools=[{"name": fn["name"], "description": fn["description"], "input_schema": fn["parameters"]}],
        tool_choice={"type": "tool", "name": "get_weather"})
    (use,) = [block for block in message.content if block.type == "tool_use"]
    assert message.stop_reason == "tool_use" and use.name == "get_weather"
    jsonschema.validate(use.input, fn["parameters"])
