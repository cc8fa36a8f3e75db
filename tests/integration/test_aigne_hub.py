"""The published AIGNE Hub SDK (`@aigne/aigne-hub` 0.10.16) and the `aigne` CLI (1.59.0), pinned
in tests/node, against the real server with billing on: discovery, the model list, chat (JSON,
streamed, tools, structured output), images, embeddings in both shapes, the 402 out of credits,
a provider failing mid-stream, and `aigne run`. Credits the client reports equal the ledger's.

Without Node or the packages these tests skip, unless AIHUB_E2E=required (as `make test` sets).
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import videos as fv
from tests.fakes.ideogram import form_fields
from tests.fakes.upstream import FakeUpstream
from tests.integration.conftest import calls_of, only_call
from tests.integration.test_responses_surface import (
    CHAT,
    route_chat,
    upstream_bodies,
)
from tests.support.gateway import ROOT, Gateway, create_key, start_gateway, upstream_env

NODE_DIR = ROOT / "tests" / "node"
MODEL = "aignehub/openai/gpt-4o-mini"
RATES = [
    {"provider": "openai", "model": "gpt-4o-mini", "type": "chat", "input_rate": 0.00000015, "output_rate": 0.0000006},
    {"provider": "openai", "model": "gpt-image-1", "type": "image", "input_rate": 0.000005, "output_rate": 0,
     "image_rate": 0.04},
    {"provider": "demo", "model": "image", "type": "image", "input_rate": 0, "output_rate": 0, "image_rate": 0.01},
    {"provider": "demo", "model": "echo", "type": "chat", "input_rate": 0.000001, "output_rate": 0.000002},
    {"provider": "demo", "model": "embed", "type": "embedding", "input_rate": 0.0000001, "output_rate": 0},
    {"provider": "openai", "model": "sora-2", "type": "video", "second_rate": 0.1},
    {"provider": "demo", "model": "video", "type": "video", "second_rate": 0.01},
]
SORA_MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 16
CLIENT_DID = "aihub-test-app"


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    reason = None if found else "Node.js is not installed"
    if found and not (NODE_DIR / "node_modules" / "@aigne" / "aigne-hub").is_dir():
        reason = "the Node clients are not installed (cd tests/node && npm ci --ignore-scripts)"
    if reason is None:
        return str(found)
    if os.environ.get("AIHUB_E2E") == "required":
        pytest.fail(f"AIGNE client tests cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def gw(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = {**upstream_env(fake.base_url), "AIHUB_BILLING": "on", "AIHUB_CREDIT_PREFIX": "$", "AIHUB_VIDEO_POLL_S": "0.05",
           "AIHUB_TOPUP_URL": "https://pay.example.com/topup"}
    gateway = start_gateway(tmp_path_factory.mktemp("aigne"), env)
    with gateway.admin() as api:
        for rate in RATES:
            created = api.post("/admin/model-rates", json=rate)
            assert created.status_code == 201, created.text
    yield gateway
    gateway.stop()


def sdk(node: str, gw: Gateway, key: dict, scenario: str, model: str = MODEL) -> dict[str, Any]:
    env = {"PATH": os.environ.get("PATH", ""), "AIGNE_HUB_API_URL": gw.url, "AIGNE_HUB_API_KEY": key["key"],
           "MODEL": model, "BLOCKLET_APP_PID": CLIENT_DID}
    done = subprocess.run([node, str(NODE_DIR / "aigne_hub.mjs"), scenario], cwd=NODE_DIR, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def the_call(api: httpx.Client, key: dict) -> dict[str, Any]:
    call = only_call(api, key, "aigne")
    assert call["app_id"] == CLIENT_DID
    return call


def spent(api: httpx.Client, key: dict) -> Decimal:
    account = api.get(f"/admin/accounts/{key['account_id']}").json()
    return Decimal(str(account["granted"])) - Decimal(str(account["balance"]))


def assert_billed(usage: dict[str, Any], api: httpx.Client, key: dict) -> dict[str, Any]:
    """The credits the client reports are the ledger's charge of that very call (the client's
    schema keeps no modelCallId: the raw tests check that one)."""
    call = the_call(api, key)
    assert usage["creditPrefix"] == "$"
    assert Decimal(str(usage["aigneHubCredits"])) == Decimal(str(call["credits"])) == spent(api, key) > 0
    return call


# -- discovery and catalogue ------------------------------------------------------------------


def test_discovery_answers_the_hub_mount_point(gw):
    found = httpx.get(gw.url + "/__blocklet__.js", params={"type": "json"})
    assert found.status_code == 200
    assert found.json()["componentMountPoints"] == [
        {"did": "z8ia3xzq2tMq8CRHfaXj1BTYJyYnEcHbqP8cJ", "name": "ai-kit", "title": "aihub", "mountPoint": "/"}]
    script = httpx.get(gw.url + "/__blocklet__.js")
    assert script.headers["content-type"].startswith("application/javascript")
    assert script.text.startswith("window.blocklet = {") and '"mountPoint":"/"' in script.text


def test_model_list_passes_the_clients_strict_schema(node, gw, key):
    got = sdk(node, gw, key, "models")
    chat = {m["model"]: m for m in got["chat"]}
    assert chat["gpt-4o-mini"] == {
        "model": "gpt-4o-mini", "type": "chat", "provider": "openai", "input_credits_per_token": "0.00000015",
        "output_credits_per_token": "0.0000006", "modelMetadata": None, "providerDisplayName": "OpenAI",
        "status": {"available": True}} | {"providerDisplayName": chat["gpt-4o-mini"]["providerDisplayName"]}
    assert {m["model"] for m in got["image"]} == {"gpt-image-1", "image"}
    assert {m["output_credits_per_token"] for m in got["image"]} == {"0.04", "0.01"}


def test_without_billing_the_list_has_every_model_and_answers_carry_no_credits(fake, gateway, user):
    listed = httpx.get(gateway.url + "/api/ai/models").json()
    demo = {m["model"]: m for m in listed if m["provider"] == "demo"}
    assert {name: m["type"] for name, m in demo.items()} == {"echo": "chat", "embed": "embedding",
                                                             "image": "image_generation", "video": "video"}
    assert all(isinstance(m["input_credits_per_token"], str) and m["status"] == {"available": True}
               for m in listed)
    assert [m["model"] for m in httpx.get(gateway.url + "/api/ai/models", params={"type": "embedding"}).json()
            if m["provider"] == "demo"] == ["embed"]
    # the shipped catalogue's models are listed too, with its type where the name would mislead
    xai = {m["model"]: m["type"] for m in listed if m["provider"] == "xai"}
    assert xai["grok-imagine-video"] == "video" and xai["grok-4"] == "chat"
    route_chat(fake, {"content": "Hello."}, prompt=4, completion=2)
    answer = httpx.post(gateway.url + "/api/v2/chat", headers={"authorization": f"Bearer {user['key']}"},
                        json={"input": {"messages": [{"role": "user", "content": "hi"}],
                                        "modelOptions": {"model": "openai/gpt-4o-mini"}}})
    assert answer.json()["usage"] == {"inputTokens": 4, "outputTokens": 2}
    info = httpx.get(gateway.url + "/api/user/info", headers={"authorization": f"Bearer {user['key']}"}).json()
    assert info["enableCredit"] is False and info["creditBalance"] is None and info["paymentLink"] is None


# -- chat ---------------------------------------------------------------------------------------


def test_chat_json_with_exact_credits(node, fake, gw, api, key):
    route_chat(fake, {"content": "Hello from upstream."}, prompt=12, completion=3)
    got = sdk(node, gw, key, "chat")
    assert got["text"] == "Hello from upstream." and got["modelWithProvider"] == "openai/gpt-4o-mini"
    assert (got["usage"]["inputTokens"], got["usage"]["outputTokens"]) == (12, 3)
    call = assert_billed(got["usage"], api, key)
    assert Decimal(str(call["credits"])) == 12 * Decimal("0.00000015") + 3 * Decimal("0.0000006")
    (upstream,) = upstream_bodies(fake, CHAT)
    assert upstream["model"] == "gpt-4o-mini" and not upstream.get("stream")
    assert upstream["messages"] == [{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": "Say hello."}]


def test_chat_streamed_as_aigne_frames(node, fake, gw, api, key):
    route_chat(fake, {}, [{"role": "assistant", "content": "Hel"}, {"content": "lo!"}], prompt=5, completion=2)
    got = sdk(node, gw, key, "stream")
    assert got["texts"] == ["Hel", "lo!"] and got["output"]["text"] == "Hello!"
    assert (got["output"]["usage"]["inputTokens"], got["output"]["usage"]["outputTokens"]) == (5, 2)
    assert_billed(got["output"]["usage"], api, key)
    assert upstream_bodies(fake, CHAT)[0]["stream"] is True


def test_raw_stream_has_no_done_and_usage_last(fake, gw, key):
    route_chat(fake, {}, [{"role": "assistant", "content": "Hi"}], prompt=5, completion=2)
    envelope = {"input": {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
                          "modelOptions": {"model": "openai/gpt-4o-mini"}, "outputFileType": "url"},
                "agent": "$CHAT_MODEL", "options": {"streaming": True}}
    with httpx.stream("POST", gw.url + "/api/v2/chat", json=envelope, timeout=20,
                      headers={"authorization": f"Bearer {key['key']}"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        text = response.read().decode()
    frames = [json.loads(block.removeprefix("data: ")) for block in text.strip().split("\n\n")]
    assert "[DONE]" not in text
    assert frames[0] == {"delta": {"json": {"model": "deepseek-chat"}}}
    assert frames[1] == {"delta": {"text": {"text": "Hi"}}}
    assert set(frames[-1]["delta"]["json"]) == {"usage", "modelWithProvider"}
    usage = frames[-1]["delta"]["json"]["usage"]
    assert usage["modelCallId"] == response.headers["x-request-id"] and usage["aigneHubCredits"] > 0


def test_raw_answer_carries_the_call_id(fake, gw, api, key):
    route_chat(fake, {"content": "Hello."}, prompt=12, completion=3)
    answer = httpx.post(gw.url + "/api/v2/chat", headers={"authorization": f"Bearer {key['key']}"},
                        json={"input": {"messages": [{"role": "user", "content": "hi"}],
                                        "modelOptions": {"model": "openai/gpt-4o-mini"}}, "options": {}})
    assert answer.status_code == 200, answer.text
    usage = answer.json()["usage"]
    assert usage["modelCallId"] == answer.headers["x-request-id"] == calls_of(api, key["account_id"])[0]["request_id"]
    assert usage["creditPrefix"] == "$"


def test_tool_calls_and_content_parts(node, fake, gw, api, key):
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
    route_chat(fake, {"content": None, "tool_calls": [call]}, finish="tool_calls")
    got = sdk(node, gw, key, "tools")
    assert "toolCalls" in got, got
    assert got["toolCalls"] == [{"id": "call_1", "type": "function",
                                 "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]
    (upstream,) = upstream_bodies(fake, CHAT)
    user, agent, tool = upstream["messages"]
    assert user["content"][1] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    assert agent == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'}}]}
    assert tool == {"role": "tool", "content": '{"degrees":25}', "tool_call_id": "call_0"}
    assert upstream["tools"][0]["function"]["name"] == "get_weather" and upstream["tool_choice"] == "auto"


def test_streamed_tool_call_is_sent_once_complete(node, fake, gw, key):
    fragments = [{"role": "assistant", "tool_calls": [{"index": 0, "id": "call_2", "type": "function",
                                                       "function": {"name": "get_weather", "arguments": '{"ci'}}]},
                 {"tool_calls": [{"index": 0, "function": {"arguments": 'ty":"Oslo"}'}}]}]
    route_chat(fake, {}, fragments, finish="tool_calls")
    got = sdk(node, gw, key, "streamTools")
    assert got["output"]["toolCalls"] == [{"id": "call_2", "type": "function",
                                           "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]


def test_streamed_structured_output(node, fake, gw, key):
    route_chat(fake, {}, [{"role": "assistant", "content": '{"city":"Rome",'}, {"content": '"degrees":25}'}])
    got = sdk(node, gw, key, "streamStructured")
    assert got["output"]["json"] == {"city": "Rome", "degrees": 25} and got["texts"] == []


def test_structured_output_comes_back_as_json(node, fake, gw, key):
    route_chat(fake, {"content": '{"city":"Rome","degrees":25}'})
    got = sdk(node, gw, key, "structured")
    assert got["json"] == {"city": "Rome", "degrees": 25}
    response_format = upstream_bodies(fake, CHAT)[0]["response_format"]
    assert response_format["type"] == "json_schema" and response_format["json_schema"]["name"] == "weather"


def test_out_of_credits_is_the_hubs_402_and_no_upstream_call(node, fake, gw, api):
    broke = create_key(api, credits=0)
    route_chat(fake, {"content": "never"})
    got = sdk(node, gw, broke, "chat")
    assert got["type"] == "NOT_ENOUGH" and "https://pay.example.com/topup" in got["error"]
    assert upstream_bodies(fake, CHAT) == []
    raw = httpx.post(gw.url + "/api/v2/chat", headers={"authorization": f"Bearer {broke['key']}"},
                     json={"input": {"messages": [{"role": "user", "content": "hi"}],
                                     "modelOptions": {"model": "openai/gpt-4o-mini"}}})
    assert raw.status_code == 402
    assert raw.json()["error"]["link"] == "https://pay.example.com/topup"


def test_provider_failing_mid_stream_is_an_error_event(node, fake, gw, api, key):
    head = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    fake.route("POST", CHAT, sse=[{**head, "choices": [{"index": 0, "delta": {"content": "Hel"}}]},
                                  {"error": {"message": "upstream exploded", "type": "server_error"}}])
    got = sdk(node, gw, key, "stream")
    assert "upstream exploded" in (got.get("error") or ""), got
    call = the_call(api, key)
    assert call["status"] == "failed" and call["credits"] == 0


def test_bad_envelope_is_a_400_naming_the_field(gw, key):
    bad = httpx.post(gw.url + "/api/v2/chat", headers={"authorization": f"Bearer {key['key']}"},
                     json={"input": {"messages": []}})
    assert bad.status_code == 400 and "input.messages" in bad.json()["error"]["message"]


# -- image, embeddings ------------------------------------------------------------------------


def test_image_from_the_openai_images_fake(node, fake, gw, api, key):
    fake.route("POST", "/v1/images/generations", json={"created": 1, "data": [{"b64_json": "iVBORw0KGgo="}],
                                                        "usage": {"input_tokens": 6, "output_tokens": 0,
                                                                  "total_tokens": 6}})
    got = sdk(node, gw, key, "image", model="aignehub/openai/gpt-image-1")
    (image,) = got["images"]
    assert image["type"] == "file" and image["data"] == "iVBORw0KGgo=" and image["mimeType"] == "image/png"
    assert_billed(got["usage"], api, key)
    (sent,) = [r.json for r in fake.requests if r.path == "/v1/images/generations"]
    assert sent["model"] == "gpt-image-1" and sent["size"] == "256x256"


def test_image_from_the_demo_provider(node, gw, api, key):
    got = sdk(node, gw, key, "image", model="aignehub/demo/image")
    (image,) = got["images"]
    assert image["type"] == "file" and image["mimeType"] == "image/png" and image["data"]
    assert_billed(got["usage"], api, key)


def test_embeddings_in_both_shapes(gw, api, key):
    auth = {"authorization": f"Bearer {key['key']}", "x-aigne-hub-client-did": CLIENT_DID}
    old = httpx.post(gw.url + "/api/v2/embeddings", headers=auth,
                     json={"model": "demo/embed", "input": ["hello world", "second text"]})
    assert old.status_code == 200, old.text
    assert [item["index"] for item in old.json()["data"]] == [0, 1]
    envelope = httpx.post(gw.url + "/api/v2/embeddings", headers=auth,
                          json={"input": {"input": ["hello world"], "modelOptions": {"model": "demo/embed"}},
                                "agent": "$CHAT_MODEL", "options": {}})
    assert envelope.status_code == 200, envelope.text
    answer = envelope.json()
    assert answer["embeddings"] == [answer["data"][0]["embedding"]] == [old.json()["data"][0]["embedding"]]
    calls = calls_of(api, key["account_id"])
    assert len(calls) == 2 and {c["surface"] for c in calls} == {"aigne"}
    latest = max(calls, key=lambda c: c["created_at"])
    assert Decimal(str(answer["usage"]["aigneHubCredits"])) == Decimal(str(latest["credits"]))
    missing = httpx.post(gw.url + "/api/v2/embeddings", headers=auth, json={"input": {"input": ["x"]}})
    assert missing.status_code == 400 and "input.modelOptions.model" in missing.json()["error"]["message"]


# -- the blocklet-side SDK's older routes (raw HTTP: that SDK is not on the npm registry here) ---


def test_old_chat_completions_json_sse_and_text(fake, gw, key):
    auth = {"authorization": f"Bearer {key['key']}"}
    body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "maxTokens": 20}
    route_chat(fake, {"content": "Hello."}, prompt=4, completion=2)
    plain = httpx.post(gw.url + "/api/v2/chat/completions", headers=auth, json=body)
    assert plain.status_code == 200, plain.text
    assert plain.json() == {"role": "assistant", "text": "Hello.", "content": "Hello.",
                            "usage": {"promptTokens": 4, "completionTokens": 2, "totalTokens": 6}}
    assert upstream_bodies(fake, CHAT)[0]["max_tokens"] == 20
    route_chat(fake, {}, [{"role": "assistant", "content": "Hel"}, {"content": "lo."}], prompt=4, completion=2)
    with httpx.stream("POST", gw.url + "/api/v2/chat/completions", json=body,
                      headers={**auth, "accept": "text/event-stream"}) as response:
        frames = [json.loads(b.removeprefix("data: ")) for b in response.read().decode().strip().split("\n\n")]
    assert frames == [{"delta": {"role": "assistant", "content": "Hel"}}, {"delta": {"role": "assistant", "content": "lo."}},
                      {"usage": {"promptTokens": 4, "completionTokens": 2, "totalTokens": 6}}]
    text = httpx.post(gw.url + "/api/v2/chat/completions", headers=auth, json={**body, "stream": True})
    assert text.headers["content-type"].startswith("text/plain") and text.text == "Hello."


def test_old_image_generations(fake, gw, api, key):
    fake.route("POST", "/v1/images/generations", json={"created": 1, "data": [{"b64_json": "iVBORw0KGgo="}]})
    got = httpx.post(gw.url + "/api/v2/image/generations", headers={"authorization": f"Bearer {key['key']}"},
                     json={"model": "openai/gpt-image-1", "prompt": "a red square", "size": "256x256"})
    assert got.status_code == 200, got.text
    answer = got.json()
    assert answer["images"] == answer["data"] == [{"b64_json": "iVBORw0KGgo=", "b64Json": "iVBORw0KGgo="}]
    (call,) = calls_of(api, key["account_id"])
    assert Decimal(str(answer["usage"]["aigneHubCredits"])) == Decimal(str(call["credits"])) > 0


# -- the client's app identity in the usage analytics ---------------------------------------------


def test_app_id_is_a_filter_and_a_group_of_the_usage_analytics(gw, key):
    for app, times in (("app-one", 2), ("app-two", 1)):
        for _ in range(times):
            answer = httpx.post(gw.url + "/api/v2/chat", json={"input": {
                "messages": [{"role": "user", "content": "hi"}], "modelOptions": {"model": "demo/echo"}}},
                headers={"authorization": f"Bearer {key['key']}", "x-aigne-hub-client-did": app})
            assert answer.status_code == 200, answer.text
    mine = httpx.Client(base_url=gw.url, headers={"authorization": f"Bearer {key['key']}"})
    groups = mine.get("/v1/usage/summary", params={"group_by": "app"}).json()["groups"]
    assert sorted((g["app_id"], g["calls"]) for g in groups) == [("app-one", 2), ("app-two", 1)]
    only = mine.get("/v1/usage/summary", params={"app_id": "app-two"}).json()
    assert only["calls"] == 1 and only["filters"] == {"app_id": "app-two"}
    listed = mine.get("/v1/usage/calls", params={"app_id": "app-one"}).json()["data"]
    assert len(listed) == 2 and {c["app_id"] for c in listed} == {"app-one"}
    assert "app_id" in mine.get("/v1/usage/calls.csv").text.splitlines()[0].split(",")


# -- status, user info --------------------------------------------------------------------------


def test_status_and_user_info(gw, api, key):
    assert httpx.get(gw.url + "/api/v2/status").json() == {"available": True}
    assert httpx.get(gw.url + "/api/v2/status", params={"model": "openai/gpt-4o-mini"}).json() == {"available": True}
    unknown = httpx.get(gw.url + "/api/v2/status", params={"model": "nosuch-model-x"}).json()
    assert unknown == {"available": False, "error": "Model nosuch-model-x is not supported", "code": 400}
    with gw.admin() as admin:
        assert admin.patch("/admin/providers/openai", json={"enabled": False}).status_code == 200
        try:
            off = httpx.get(gw.url + "/api/v2/status", params={"model": "openai/gpt-4o-mini"}).json()
        finally:
            assert admin.patch("/admin/providers/openai", json={"enabled": True}).status_code == 200
    assert off == {"available": False, "error": "provider openai is disabled", "code": 503}
    broke = create_key(api, credits=0)
    empty = httpx.get(gw.url + "/api/v2/status", headers={"authorization": f"Bearer {broke['key']}"}).json()
    assert empty["available"] is False and empty["code"] == 402 and empty["type"] == "NOT_ENOUGH"
    info = httpx.get(gw.url + "/api/user/info", headers={"authorization": f"Bearer {key['key']}"}).json()
    assert info["enableCredit"] is True and info["creditPrefix"] == "$"
    assert info["creditBalance"]["balance"] == "10" and info["user"]["did"] == key["account_id"]


# -- the CLI ------------------------------------------------------------------------------------


def test_aigne_run_answers_through_aihub(node, fake, gw, api, key, tmp_path: Path):
    route_chat(fake, {}, [{"role": "assistant", "content": "Hi from aihub."}], prompt=9, completion=4)
    agent = tmp_path / "agent"
    agent.mkdir()
    (agent / "aigne.yaml").write_text("name: test\nmodel: aignehub:openai/gpt-4o-mini\nagents:\n  - chat.yaml\n")
    (agent / "chat.yaml").write_text("type: ai\nname: chat\ninstructions: You are a helpful assistant.\n"
                                     "input_key: message\n")
    home = tmp_path / "home"
    (home / ".aigne").mkdir(parents=True)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "AIGNE_HUB_API_URL": gw.url,
           "AIGNE_HUB_API_KEY": key["key"], "BLOCKLET_APP_PID": CLIENT_DID, "NO_COLOR": "1", "CI": "1"}
    done = subprocess.run([node, str(NODE_DIR / "node_modules" / ".bin" / "aigne"), "run", str(agent), "chat",
                           "--input", "hi there", "--model", "aignehub:openai/gpt-4o-mini"],
                          cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Hi from aihub." in done.stdout
    (upstream,) = upstream_bodies(fake, CHAT)
    assert upstream["messages"][0] == {"role": "system", "content": [{"type": "text",
                                                                      "text": "You are a helpful assistant."}]}
    assert the_call(api, key)["stream"] == 1


# -- video ------------------------------------------------------------------------------------


def test_video_from_the_fake_sora(node, fake, gw, api, key):
    fv.install_sora(fake, "video_aigne1", SORA_MP4, seconds="4", size="1280x720")
    got = sdk(node, gw, key, "video", model="aignehub/openai/sora-2")
    assert "error" not in got, got
    (video,) = got["videos"]
    # the SDK fetched the hosted URL itself and handed its caller the bytes
    assert (video["type"], base64.b64decode(video["data"])) == ("file", SORA_MP4)
    assert got["seconds"] == 4
    call = assert_billed(got["usage"], api, key)
    assert (call["provider"], call["model"], call["seconds"]) == ("openai", "sora-2", 4)
    assert Decimal(str(call["credits"])) == 4 * Decimal("0.1")
    (create,) = [r for r in fake.requests if r.method == "POST"]
    assert form_fields(create) == {"model": "sora-2", "prompt": "A calm sea", "seconds": "4", "size": "1280x720"}


def test_video_from_the_demo_provider(node, gw, api, key):
    got = sdk(node, gw, key, "video", model="aignehub/demo/video")
    assert "error" not in got, got
    (video,) = got["videos"]
    assert video["type"] == "file" and base64.b64decode(video["data"])[4:8] == b"ftyp"
    call = assert_billed(got["usage"], api, key)
    assert Decimal(str(call["credits"])) == got["seconds"] * Decimal("0.01")


def test_raw_video_answer_and_bad_input(gw, key):
    auth = {"authorization": f"Bearer {key['key']}"}
    envelope = {"input": {"prompt": "waves", "seconds": "2", "outputFileType": "url",
                          "modelOptions": {"model": "demo/video"}}, "agent": "$CHAT_MODEL",
                "options": {"streaming": False}}
    answer = httpx.post(gw.url + "/api/v2/video", json=envelope, headers=auth, timeout=60)
    assert answer.status_code == 200, answer.text
    (video,) = answer.json()["videos"]
    assert video["type"] == "url" and video["mimeType"] == "video/mp4"
    assert httpx.get(video["url"]).content[4:8] == b"ftyp"
    assert answer.json()["seconds"] == 2 and answer.json()["model"] == "demo/video"
    bad = httpx.post(gw.url + "/api/v2/video", json={**envelope, "input": {**envelope["input"], "seconds": "lots"}},
                     headers=auth)
    assert bad.status_code == 400 and "seconds" in bad.json()["error"]["message"]
    missing = httpx.post(gw.url + "/api/v2/video", json={"input": {"seconds": "2"}}, headers=auth)
    assert missing.status_code == 400 and "input.prompt" in missing.json()["error"]["message"]
