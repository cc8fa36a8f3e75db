"""OpenAI's remaining common routes and the gateway's HTTP manners, driven with the official
openai SDK against the real server: models.retrieve with ids that hold "/", legacy
completions (native through the fake, over chat through demo and the Anthropic fake),
moderations, CORS preflights and actual requests, 413, HEAD."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import orjson
import pytest

from chalicelib.billing import catalogue
from tests.fakes import anthropic as fa
from tests.fakes.upstream import FakeUpstream
from tests.integration.conftest import calls_of
from tests.support import openapi
from tests.support.gateway import Gateway, create_key, start_gateway, upstream_env

ORIGIN = "https://app.example"
OPENROUTER_KEY = "sk-or-test-SECRET-0123456789"
ROUTER_MODEL = "mistralai/mistral-7b-instruct"


@pytest.fixture(scope="module")
def configured(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway with a CORS origin, a 10 kB body limit and OpenRouter (whose model ids hold "/")."""
    env = {**upstream_env(fake.base_url), "AIHUB_CORS_ORIGINS": f"{ORIGIN}, https://other.example",
           "AIHUB_MAX_BODY": "10485", "OPENROUTER_API_KEY": OPENROUTER_KEY,
           "OPENROUTER_BASE_URL": fake.base_url + "/or/v1"}
    gw = start_gateway(tmp_path_factory.mktemp("configured"), env)
    yield gw
    gw.stop()


def _record(admin: httpx.Client, account_id: str) -> dict:
    (call,) = calls_of(admin, account_id)
    return call


# -- GET /v1/models/{id+} --------------------------------------------------------------------------

def test_retrieve_a_model_whose_id_holds_a_slash(client):
    model = client.models.retrieve("demo/echo")
    assert (model.id, model.object, model.owned_by) == ("demo/echo", "model", "demo")
    openapi.validate("Model", model.model_dump())


def test_retrieve_a_bare_name_gives_the_provider_and_the_catalogue_limits(client):
    model = client.models.retrieve("gpt-4o")
    known = catalogue.entry("openai", "gpt-4o")
    assert (model.id, model.owned_by) == ("openai/gpt-4o", "openai")
    assert model.model_dump()["context_window"] == known["max_input_tokens"]
    assert model.model_dump()["max_output_tokens"] == known["max_output_tokens"]
    assert "pricing" not in model.model_dump()  # billing is off on this gateway


@pytest.mark.parametrize("model_id", [f"openrouter/{ROUTER_MODEL}", "demo/no-such-model", "no-such-model"])
def test_retrieve_an_unknown_model_is_openais_404(client, model_id):
    with pytest.raises(openai.NotFoundError) as raised:
        client.models.retrieve(model_id)
    body = raised.value.response.json()
    openapi.validate("ErrorResponse", body)
    assert body["error"]["code"] == "model_not_found" and model_id in body["error"]["message"]


def test_retrieve_a_model_with_two_slashes(configured):
    with configured.admin() as admin:
        key = create_key(admin)["key"]
    model = configured.openai(key).models.retrieve(f"openrouter/{ROUTER_MODEL}")
    assert (model.id, model.owned_by) == (f"openrouter/{ROUTER_MODEL}", "openrouter")


def test_probe_a_model_whose_id_holds_a_slash(fake, configured):
    fake.route("POST", "/or/v1/chat/completions", json={
        "id": "gen-1", "object": "chat.completion", "created": 1, "model": ROUTER_MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "p"}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
    with configured.admin() as admin:
        probe = admin.post(f"/admin/models/openrouter/{ROUTER_MODEL}/probe")
    assert probe.status_code == 200, probe.text
    assert (probe.json()["provider"], probe.json()["model"], probe.json()["available"]) == \
        ("openrouter", ROUTER_MODEL, True)
    (sent,) = fake.requests
    assert sent.json["model"] == ROUTER_MODEL and sent.headers["authorization"] == f"Bearer {OPENROUTER_KEY}"


def test_head_of_a_model(gateway, user):
    auth = {"authorization": f"Bearer {user['key']}", "accept-encoding": "identity"}
    got = httpx.get(gateway.url + "/v1/models/demo/echo", headers=auth)
    head = httpx.head(gateway.url + "/v1/models/demo/echo", headers=auth)
    assert head.status_code == got.status_code == 200
    assert head.content == b"" and head.headers["content-length"] == got.headers["content-length"]


# -- POST /v1/completions, natively -----------------------------------------------------------------

@pytest.mark.parametrize("name", ["completion-basic", "completion-suffix", "completion-token",
                                  "completion-text-batch", "completion-token-batch"])
def test_native_completion_replays_the_recording(name, fake, client, admin, user):
    (interaction,) = fake.add_cassette(name)
    raw = client.completions.with_raw_response.create(**interaction.request_json)
    body = raw.http_response.json()
    assert body == orjson.loads(interaction.response_body)
    openapi.validate("CreateCompletionResponse", body)
    assert raw.parse().choices[0].text == body["choices"][0]["text"]
    (sent,) = fake.requests
    assert sent.path == "/v1/completions" and sent.json == interaction.request_json
    call = _record(admin, user["account_id"])
    assert call["request_id"] == raw.http_response.headers["x-request-id"]
    assert (call["status"], call["provider"], call["surface"]) == ("success", "openai", "completions")
    assert call["prompt_tokens"] == body["usage"]["prompt_tokens"]
    assert call["completion_tokens"] == body["usage"]["completion_tokens"]


@pytest.mark.parametrize("name", ["completion-streaming", "completion-streaming-usage"])
def test_native_completion_stream_relays_every_chunk(name, fake, client, admin, user):
    (interaction,) = fake.add_cassette(name)
    request = interaction.request_json
    chunks = [chunk.model_dump(exclude_unset=True) for chunk in client.completions.create(**request)]
    recorded = [orjson.loads(e) for e in interaction.sse_events() if e != b"[DONE]"]
    assert chunks == recorded
    (sent,) = fake.requests
    assert sent.json["stream_options"] == {"include_usage": True}  # asked upstream, whoever asked
    call = _record(admin, user["account_id"])
    assert (call["status"], call["stream"], call["surface"]) == ("success", True, "completions")
    if recorded[-1].get("usage"):
        assert (call["completion_tokens"], call["usage_estimated"]) == (recorded[-1]["usage"]["completion_tokens"],
                                                                         False)
    else:
        assert call["usage_estimated"] is True and call["completion_tokens"] > 0


def test_native_completion_unknown_model_is_404(fake, client, admin, user):
    (interaction,) = fake.add_cassette("completion-unknown-model")
    with pytest.raises(openai.NotFoundError) as raised:
        client.completions.create(**interaction.request_json)
    openapi.validate("ErrorResponse", raised.value.response.json())
    assert _record(admin, user["account_id"])["status"] == "failed"


def test_completion_bad_request_is_400_naming_the_field(fake, client):
    (interaction,) = fake.add_cassette("completion-bad-request")
    with pytest.raises(openai.BadRequestError) as raised:
        client.completions.create(**interaction.request_json)
    body = raised.value.response.json()
    openapi.validate("ErrorResponse", body)
    assert body["error"]["param"] in ("max_tokens", "temperature")
    assert fake.requests == []


# -- POST /v1/completions, over chat ----------------------------------------------------------------

def test_completion_over_chat_with_demo(client, admin, user):
    raw = client.completions.with_raw_response.create(model="demo/echo", prompt="Say hello", max_tokens=20)
    body = raw.http_response.json()
    openapi.validate("CreateCompletionResponse", body)
    (choice,) = body["choices"]
    assert choice["text"] == "This is aihub's offline demo model. You said: Say hello"
    assert body["object"] == "text_completion" and choice["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] == len(choice["text"].split())
    call = _record(admin, user["account_id"])
    assert (call["provider"], call["surface"], call["completion_tokens"]) == \
        ("demo", "completions", body["usage"]["completion_tokens"])


def test_completion_stream_over_chat_with_demo(client):
    whole = client.completions.create(model="demo/echo", prompt="stream me").choices[0].text
    chunks = list(client.completions.create(model="demo/echo", prompt="stream me", stream=True,
                                            stream_options={"include_usage": True}))
    assert all(c.object == "text_completion" for c in chunks)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == whole
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == len(whole.split())


def test_completion_over_chat_with_anthropic(fake, client, admin, user):
    fake.add_rule(fa.MessagesRule(fa.message(fa.text("Bonjour!"))))
    completion = client.completions.create(model="anthropic/claude-sonnet-4-5", prompt="Say hello in French",
                                           max_tokens=10)
    assert completion.choices[0].text == "Bonjour!" and completion.object == "text_completion"
    (sent,) = fake.requests
    assert sent.path == "/v1/messages" and sent.json["max_tokens"] == 10
    (message,) = sent.json["messages"]
    assert message["role"] == "user" and "Say hello in French" in orjson.dumps(message["content"]).decode()
    call = _record(admin, user["account_id"])
    assert (call["provider"], call["surface"]) == ("anthropic", "completions")
    assert (call["prompt_tokens"], call["completion_tokens"]) == (12, 6)  # the fake's usage


def test_completion_stream_over_chat_with_anthropic(fake, client):
    fake.add_rule(fa.MessagesRule(fa.message(fa.text("Streamed over chat."))))
    chunks = list(client.completions.create(model="anthropic/claude-sonnet-4-5", prompt="hi", max_tokens=10,
                                            stream=True))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "Streamed over chat."


def test_tokens_over_chat_are_a_400(fake, client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.completions.create(model="demo/echo", prompt=[1, 2, 3])
    assert raised.value.response.json()["error"]["param"] == "prompt"


# -- POST /v1/moderations ---------------------------------------------------------------------------

def test_demo_moderation_flags_only_the_marker_word(client, admin, user):
    raw = client.moderations.with_raw_response.create(model="demo/moderation",
                                                      input=["a kind word", "this says aihub-flag"])
    body = raw.http_response.json()
    openapi.validate("CreateModerationResponse", body)
    fine, flagged = raw.parse().results
    assert not fine.flagged and not any(fine.categories.model_dump().values())
    assert flagged.flagged and flagged.categories.harassment
    call = _record(admin, user["account_id"])
    assert (call["provider"], call["status"], call["credits"]) == ("demo", "success", 0)


def test_openai_moderation_natively(fake, client, admin, user):
    answer = {"id": "modr-1", "model": "omni-moderation-latest",
              "results": [{"flagged": False, "categories": {"violence": False},
                           "category_scores": {"violence": 0.001}, "category_applied_input_types": {"violence": ["text"]}}]}
    fake.route("POST", "/v1/moderations", json=answer)
    result = client.moderations.with_raw_response.create(input="how do I bake bread")
    assert result.http_response.json() == answer
    (sent,) = fake.requests
    assert sent.json == {"model": "omni-moderation-latest", "input": "how do I bake bread"}  # OpenAI's default
    call = _record(admin, user["account_id"])
    assert (call["provider"], call["model"], call["status"]) == ("openai", "omni-moderation-latest", "success")
    assert call["usage_estimated"] is True and call["prompt_tokens"] > 0  # so a rate can bill it


def test_moderation_on_a_chat_model_is_a_400(client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.moderations.create(model="demo/echo", input="x")
    assert raised.value.response.json()["error"]["param"] == "model"


# -- CORS ---------------------------------------------------------------------------------------------

def _preflight(gw: Gateway, origin: str, path: str = "/v1/chat/completions") -> httpx.Response:
    return httpx.options(gw.url + path, headers={
        "origin": origin, "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type, x-stainless-os, x-stainless-lang"})


def test_preflight_from_an_allowed_origin(configured):
    response = _preflight(configured, ORIGIN)
    assert response.status_code == 204 and response.content == b""
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = {h.strip() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "x-api-key", "x-goog-api-key", "anthropic-version", "anthropic-beta",
            "openai-beta", "x-stainless-os", "x-stainless-lang"} <= allowed
    assert "origin" in response.headers["vary"] and response.headers["x-request-id"]


@pytest.mark.parametrize("path", ["/v1/models/demo/echo", "/v1/messages", "/admin/keys/x", "/health"])
def test_every_route_answers_a_preflight(configured, path):
    response = _preflight(configured, ORIGIN, path)
    assert response.status_code == 204 and response.headers["access-control-allow-origin"] == ORIGIN


def test_preflight_from_another_origin_grants_nothing(configured, gateway):
    for gw, origin in ((configured, "https://evil.example"), (gateway, ORIGIN)):  # `gateway`: none configured
        response = _preflight(gw, origin)
        assert response.status_code == 204
        assert not any(h.startswith("access-control-allow") for h in response.headers)


def test_actual_requests_carry_the_origin_only_when_allowed(configured):
    with configured.admin() as admin:
        key = create_key(admin)["key"]
    ok = httpx.get(configured.url + "/v1/models", headers={"authorization": f"Bearer {key}", "origin": ORIGIN})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in ok.headers["access-control-expose-headers"]
    assert "x-ratelimit-remaining-requests" in ok.headers["access-control-expose-headers"]
    refused = httpx.get(configured.url + "/v1/models", headers={"authorization": f"Bearer {key}",
                                                                 "origin": "https://evil.example"})
    assert refused.status_code == 200 and "access-control-allow-origin" not in refused.headers
    failed = httpx.get(configured.url + "/v1/models", headers={"origin": ORIGIN})  # errors too, or a page can't read them
    assert failed.status_code == 401 and failed.headers["access-control-allow-origin"] == ORIGIN


# -- 413 ----------------------------------------------------------------------------------------------

def test_oversized_body_is_413_with_the_limit_in_the_routes_dialect(configured):
    with configured.admin() as admin:
        key = create_key(admin)["key"]
    big = "x" * 20_000
    with pytest.raises(openai.APIStatusError) as raised:
        configured.openai(key).chat.completions.create(model="demo/echo", messages=[{"role": "user", "content": big}])
    assert raised.value.status_code == 413
    error = raised.value.response.json()["error"]
    assert error["code"] == "body_too_large" and "10485 bytes" in error["message"]
    anthropic = httpx.post(configured.url + "/v1/messages", headers={"x-api-key": key},
                           json={"model": "demo/echo", "max_tokens": 5, "messages": [{"role": "user", "content": big}]})
    assert anthropic.status_code == 413
    assert anthropic.json()["type"] == "error" and "10485 bytes" in anthropic.json()["error"]["message"]
    small = configured.openai(key).chat.completions.create(model="demo/echo",
                                                           messages=[{"role": "user", "content": "x" * 5000}])
    assert small.choices[0].message.content


# -- with billing on ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def billed(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = start_gateway(tmp_path_factory.mktemp("billed"), {**upstream_env(fake.base_url), "AIHUB_BILLING": "on"})
    yield gw
    gw.stop()


def test_billed_moderation_is_free_unless_priced_and_retrieve_shows_the_price(billed):
    with billed.admin() as admin:
        account = create_key(admin, credits=100)
        client = billed.openai(account["key"])
        free = client.moderations.create(model="demo/moderation", input="one two three")
        assert free.results[0].flagged is False
        (call,) = calls_of(admin, account["account_id"])
        assert (call["status"], call["credits"]) == ("success", 0)

        rate = {"provider": "demo", "model": "moderation", "type": "moderation", "input_rate": 0.01, "output_rate": 0}
        assert admin.post("/admin/model-rates", json=rate).status_code == 201, "rate"
        client.moderations.create(model="demo/moderation", input="one two three")
        charged = calls_of(admin, account["account_id"])[0]
        assert charged["prompt_tokens"] == 3 and charged["credits"] == pytest.approx(0.03)
        balance = admin.get(f"/admin/accounts/{account['account_id']}").json()["balance"]
        assert balance == pytest.approx(100 - 0.03)

        model = client.models.retrieve("demo/moderation").model_dump()
        assert model["pricing"]["input_rate"] == pytest.approx(0.01)
        with pytest.raises(openai.NotFoundError):  # with billing on, an unpriced chat model cannot be sold
            client.models.retrieve("demo/echo")
