"""The Vercel AI SDK (`ai` + `@ai-sdk/openai`, pinned in tests/node/package.json) against the
real server: `createOpenAI({baseURL, apiKey})` with its defaults speaks the Responses API, so
generateText, streamText, generateObject and tool calls go through /v1/responses, translated
for DeepSeek here and native for OpenAI.

The Node packages are installed by `make test` (npm ci in tests/node); without them these tests
skip, unless AIHUB_E2E=required (as `make test` sets), where they fail instead.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from tests.fakes import responses as fr
from tests.fakes.upstream import FakeUpstream
from tests.integration.conftest import calls_of
from tests.integration.test_responses_surface import CHAT, route_chat, upstream_bodies
from tests.support.gateway import ROOT, Gateway

NODE_DIR = ROOT / "tests" / "node"


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    reason = None if found else "Node.js is not installed"
    if found and not (NODE_DIR / "node_modules" / "@ai-sdk" / "openai").is_dir():
        reason = "the Node clients are not installed (cd tests/node && npm ci)"
    if reason is None:
        return str(found)
    if os.environ.get("AIHUB_E2E") == "required":
        pytest.fail(f"Vercel AI SDK tests cannot run: {reason}")
    pytest.skip(reason)


def run(node: str, gateway: Gateway, key: str, model: str, scenario: str) -> dict[str, Any]:
    env = {"PATH": os.environ.get("PATH", ""), "AIHUB_BASE_URL": gateway.url + "/v1", "AIHUB_KEY": key,
           "MODEL": model}
    done = subprocess.run([node, str(NODE_DIR / "vercel_ai.mjs"), scenario], cwd=NODE_DIR, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_generate_text(node: str, fake: FakeUpstream, gateway: Gateway, user: dict, admin) -> None:
    route_chat(fake, {"content": "Hello from DeepSeek."}, prompt=11, completion=4)
    got = run(node, gateway, user["key"], "deepseek/deepseek-chat", "generateText")
    assert got["text"] == "Hello from DeepSeek." and got["finishReason"] == "stop"
    assert (got["usage"]["inputTokens"], got["usage"]["outputTokens"]) == (11, 4)
    assert got["responseId"].startswith("resp_")
    (upstream,) = upstream_bodies(fake, CHAT)
    assert upstream["messages"][0] == {"role": "system", "content": "Be brief."}
    (call,) = calls_of(admin, user["account_id"])
    assert call["surface"] == "responses"


def test_stream_text(node: str, fake: FakeUpstream, gateway: Gateway, user: dict) -> None:
    route_chat(fake, {}, [{"role": "assistant", "content": "Hel"}, {"content": "lo!"}], prompt=5, completion=2)
    got = run(node, gateway, user["key"], "deepseek/deepseek-chat", "streamText")
    assert got["deltas"] == ["Hel", "lo!"] and got["text"] == "Hello!" and got["finishReason"] == "stop"
    assert (got["usage"]["inputTokens"], got["usage"]["outputTokens"]) == (5, 2)


def test_generate_object(node: str, fake: FakeUpstream, gateway: Gateway, user: dict) -> None:
    route_chat(fake, {"content": '{"city":"Rome","degrees":25}'})
    got = run(node, gateway, user["key"], "deepseek/deepseek-chat", "generateObject")
    assert got["object"] == {"city": "Rome", "degrees": 25}
    response_format = upstream_bodies(fake, CHAT)[0]["response_format"]
    assert response_format["type"] == "json_schema"
    assert set(response_format["json_schema"]["schema"]["properties"]) == {"city", "degrees"}


def test_tool_call(node: str, fake: FakeUpstream, gateway: Gateway, user: dict) -> None:
    call = {"id": "call_v1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
    route_chat(fake, {"content": None, "tool_calls": [call]}, finish="tool_calls")
    got = run(node, gateway, user["key"], "deepseek/deepseek-chat", "toolCall")
    assert got["toolCalls"] == [{"id": "call_v1", "name": "get_weather", "input": {"city": "Paris"}}]
    assert got["finishReason"] == "tool-calls"


def test_native_openai(node: str, fake: FakeUpstream, gateway: Gateway, user: dict) -> None:
    fake.add_rule(fr.ResponsesRule(fr.message("Hello from OpenAI."), tokens=fr.usage(9, 3, reasoning_tokens=0)))
    got = run(node, gateway, user["key"], "openai/gpt-5-nano", "generateText")
    assert got["text"] == "Hello from OpenAI." and got["responseId"] == fr.ID
    (upstream,) = upstream_bodies(fake, fr.PATH)
    assert upstream["model"] == "gpt-5-nano" and not upstream_bodies(fake, CHAT)
