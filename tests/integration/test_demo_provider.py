"""The offline demo models answer through the whole pipeline with no provider key."""
from __future__ import annotations

import base64

import openai
import orjson

from tests.integration.conftest import calls_of
from tests.support import openapi


def test_models_lists_demo_and_configured_providers(client):
    ids = [m.id for m in client.models.list()]
    assert {"demo/echo", "demo/embed", "demo/image"} <= set(ids)
    assert "openai/gpt-4o-mini" in ids  # the test gateway has an OpenAI key
    assert not any(i.startswith("openrouter/") for i in ids)  # no key, not listed


def test_demo_chat_is_deterministic_with_usage(client, admin, user):
    ask = {"model": "demo/echo", "messages": [{"role": "user", "content": "hello gateway"}]}
    first, second = client.chat.completions.create(**ask), client.chat.completions.create(**ask)
    assert first.choices[0].message.content == second.choices[0].message.content
    assert "hello gateway" in first.choices[0].message.content
    assert first.usage.prompt_tokens == 2 and first.usage.completion_tokens > 0
    raw = client.chat.completions.with_raw_response.create(**ask)
    openapi.validate("CreateChatCompletionResponse", raw.http_response.json())
    calls = calls_of(admin, user["account_id"])
    assert len(calls) == 3 and all(c["provider"] == "demo" for c in calls)


def test_demo_stream_matches_non_stream(client):
    ask = {"model": "demo/echo", "messages": [{"role": "user", "content": "stream me"}]}
    whole = client.chat.completions.create(**ask).choices[0].message.content
    chunks = list(client.chat.completions.create(**ask, stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == whole
    assert chunks[-1].usage.completion_tokens == len(whole.split())
    raw = client.chat.completions.with_raw_response.create(**ask, stream=True)
    for line in raw.http_response.iter_lines():
        if line.startswith("data: {"):
            openapi.validate("CreateChatCompletionStreamResponse", orjson.loads(line[6:]))


def test_demo_embeddings_and_images(client):
    emb = client.embeddings.create(model="demo/embed", input=["a", "b"], dimensions=16)
    assert [len(d.embedding) for d in emb.data] == [16, 16]
    b64 = client.embeddings.create(model="demo/embed", input="a", encoding_format="base64")
    assert b64.data[0].embedding  # the SDK decodes base64 itself
    image = client.images.generate(model="demo/image", prompt="a red square", n=2)
    assert len(image.data) == 2 and base64.b64decode(image.data[0].b64_json).startswith(b"\x89PNG")


def test_demo_model_of_the_wrong_kind_is_a_clear_400(client):
    try:
        client.embeddings.create(model="demo/echo", input="x")
    except openai.BadRequestError as exc:
        assert "demo/embed" in exc.body["message"]
    else:
        raise AssertionError("expected a 400")
