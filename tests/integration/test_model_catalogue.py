"""/v1/models and bare-name routing from the shipped catalogue, through the openai SDK against
the real server: catalogue models of providers with a credential (and none of those without),
their metadata, a bare catalogue name no name pattern knows reaching its provider, and a custom
provider's `config.models` listed and routed."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from chalicelib.providers import registry
from tests.integration.conftest import calls_of

CATALOGUE = json.loads((Path(__file__).parents[2] / "chalicelib" / "billing" / "catalogue.json").read_text())["models"]
CHAT = {"id": "chatcmpl-x", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}}


def _catalogue_only(provider: str) -> list[str]:
    """Catalogue ids of a provider that the registry's hard-coded list does not name."""
    listed = set(registry.BUILTIN[provider].models)
    return [m for m in CATALOGUE[provider] if m not in listed and "/" not in m]


def test_list_holds_catalogue_models_of_providers_with_a_credential_only(client):
    ids = {m.id for m in client.models.list()}
    for provider in ("openai", "anthropic", "google", "xai", "deepseek"):  # keys in the test gateway
        extra = _catalogue_only(provider)
        assert extra and {f"{provider}/{m}" for m in extra} <= ids, provider
    for provider in ("ollama", "doubao", "openrouter", "poe"):  # no credential: nothing listed
        assert not any(i.startswith(provider + "/") for i in ids), provider
    assert {f"demo/{m}" for m in registry.BUILTIN["demo"].models} <= ids
    assert "openai/sora-2-pro" in ids  # the registry's own ids stay listed beside the catalogue's


def test_listed_and_retrieved_models_carry_the_catalogue_metadata(client):
    vision = next(m for m, e in CATALOGUE["openai"].items()
                  if "vision" in e.get("features", ()) and "function_calling" in e["features"]
                  and e.get("max_input_tokens") and "/" not in m)
    known = CATALOGUE["openai"][vision]
    listed = next(m for m in client.models.list() if m.id == f"openai/{vision}").model_dump()
    got = client.models.retrieve(f"openai/{vision}").model_dump()
    for model in (listed, got):
        assert model["context_window"] == known["max_input_tokens"]
        assert model["max_output_tokens"] == known.get("max_output_tokens")
        assert model["type"] == known["type"]
        assert model["capabilities"]["vision"] is True and model["capabilities"]["tools"] is True
        assert model["capabilities"]["reasoning"] is ("reasoning" in known["features"])
    no_vision = next(m for m, e in CATALOGUE["deepseek"].items() if "vision" not in e.get("features", ()))
    assert client.models.retrieve(f"deepseek/{no_vision}").model_dump()["capabilities"]["vision"] is False


def test_a_bare_catalogue_name_no_pattern_knows_reaches_its_provider(client, admin, user, fake):
    unmatched = [m for m in _catalogue_only("openai") if not registry.candidates(m)
                 and CATALOGUE["openai"][m]["type"] == "chat"]
    assert unmatched  # else this test proves nothing: every catalogue id would match a pattern
    model = unmatched[0]
    fake.route("POST", "/v1/chat/completions", json=CHAT)
    client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert fake.requests[-1].json["model"] == model
    (call,) = calls_of(admin, user["account_id"])
    assert call["provider"] == "openai"
    assert client.models.retrieve(model).id == f"openai/{model}"


def test_a_bare_catalogue_name_of_a_provider_without_credential_is_not_served(client):
    model = next(m for m in CATALOGUE["ollama"] if not registry.candidates(m))
    with pytest.raises(openai.APIStatusError) as failed:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert failed.value.status_code == 503  # known, but no provider can serve it


@pytest.fixture
def custom(admin: httpx.Client, fake) -> Iterator[str]:
    created = admin.post("/admin/providers", json={"name": "myvllm", "kind": "openai",
                                                   "base_url": f"{fake.base_url}/myvllm/v1",
                                                   "config": {"models": ["house-model-a", "house-model-b"]}})
    assert created.status_code == 201, created.text
    added = admin.post("/admin/providers/myvllm/credentials",
                       json={"name": "k", "value": "sk-myvllm-0000000000000001", "check": False})
    assert added.status_code == 201, added.text
    yield "myvllm"
    admin.delete("/admin/providers/myvllm")


def test_a_custom_providers_config_models_are_listed_and_routed(client, custom, fake):
    ids = [m.id for m in client.models.list()]
    assert {"myvllm/house-model-a", "myvllm/house-model-b"} <= set(ids)
    assert not any(i.startswith("myvllm/") and i not in ("myvllm/house-model-a", "myvllm/house-model-b")
                   for i in ids)  # no catalogue models for a provider of the operator's own
    fake.route("POST", "/myvllm/v1/chat/completions", json=CHAT)
    client.chat.completions.create(model="house-model-b", messages=[{"role": "user", "content": "hi"}])
    assert fake.requests[-1].path == "/myvllm/v1/chat/completions"
    assert fake.requests[-1].json["model"] == "house-model-b"
