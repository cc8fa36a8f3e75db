from __future__ import annotations

import pytest

from chalicelib.credentials import pool
from chalicelib.errors import ApiError
from chalicelib.gateway.resolve import plan

ENV = {"OPENAI_API_KEY": "sk-test-000000000000", "DEEPSEEK_API_KEY": "sk-ds-0000000000000",
       "OLLAMA_BASE_URL": "http://127.0.0.1:11434/v1"}


@pytest.mark.parametrize(
    ("model", "provider", "upstream", "credential"),
    [
        ("openai/gpt-4o", "openai", "gpt-4o", "env:OPENAI_API_KEY"),
        ("gpt-4o-mini", "openai", "gpt-4o-mini", "env:OPENAI_API_KEY"),
        ("o3-mini", "openai", "o3-mini", "env:OPENAI_API_KEY"),
        ("deepseek-chat", "deepseek", "deepseek-chat", "env:DEEPSEEK_API_KEY"),
        ("deepseek/deepseek-reasoner", "deepseek", "deepseek-reasoner", "env:DEEPSEEK_API_KEY"),
        ("ollama/llama3.2", "ollama", "llama3.2", "env:OLLAMA_BASE_URL"),
        ("llama3.2", "ollama", "llama3.2", "env:OLLAMA_BASE_URL"),
        ("demo/echo", "demo", "echo", "builtin"),
    ],
)
def test_resolves(model, provider, upstream, credential, local_env):
    local_env(ENV)
    spec, upstream_model = plan(model).routes[0]
    assert (spec.name, upstream_model, pool.pick(spec).id) == (provider, upstream, credential)


def test_bare_name_falls_back_to_openrouter_with_its_model_id(local_env):
    local_env({"OPENROUTER_API_KEY": "sk-or-0000000000"})
    (spec, model), = plan("claude-sonnet-4-5").routes
    assert (spec.name, model) == ("openrouter", "anthropic/claude-sonnet-4-5")


def test_bare_name_plans_every_configured_provider_in_order(local_env):
    local_env({"OPENAI_API_KEY": "sk-test-000000000000", "OPENROUTER_API_KEY": "sk-or-0000000000"})
    found = plan("gpt-4o-mini")
    assert [(s.name, m) for s, m in found.routes] == [("openai", "gpt-4o-mini"), ("openrouter", "openai/gpt-4o-mini")]
    assert not found.pinned
    assert plan("openai/gpt-4o-mini").pinned


@pytest.mark.parametrize(
    ("model", "status", "code"),
    [
        ("no-such-model", 404, "model_not_found"),
        ("nope/whatever", 404, "model_not_found"),
        ("xai/grok-4", 503, "provider_not_configured"),
        ("grok-4", 503, "provider_not_configured"),
    ],
)
def test_errors(model, status, code, local_env):
    local_env(ENV)
    with pytest.raises(ApiError) as info:
        plan(model)
    assert (info.value.status, info.value.code) == (status, code)


def test_bedrock_takes_bare_names_only_through_its_map(local_env):
    local_env({"AWS_ACCESS_KEY_ID": "AKIATEST", "AWS_SECRET_ACCESS_KEY": "secret"})
    (spec, model), = plan("claude-sonnet-4-5").routes
    assert (spec.name, model) == ("bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert pool.pick(spec).secret == {"access_key_id": "AKIATEST", "secret_access_key": "secret"}
    with pytest.raises(ApiError) as info:
        plan("claude-unmapped-9")
    assert info.value.code == "provider_not_configured"
    # a pinned Bedrock model id goes as it is
    assert plan("bedrock/amazon.nova-lite-v1:0").routes[0][1] == "amazon.nova-lite-v1:0"


@pytest.mark.parametrize(
    ("model", "routes"),
    [
        # no name pattern knows these; the shipped catalogue lists them under one provider
        ("codellama", [("ollama", "codellama")]),
        ("computer-use-preview", [("openai", "computer-use-preview")]),
        # a pattern sends deepseek-* to DeepSeek; the catalogue adds Doubao, which hosts this id
        ("deepseek-v3-2-251201", [("deepseek", "deepseek-v3-2-251201"), ("doubao", "deepseek-v3-2-251201")]),
    ],
)
def test_bare_catalogue_names_reach_the_providers_that_list_them(model, routes, local_env):
    local_env({**ENV, "DOUBAO_API_KEY": "sk-doubao-000000000000"})
    assert [(spec.name, m) for spec, m in plan(model).routes] == routes


def test_plans_are_remembered_until_a_provider_or_credential_changes(local_env):
    from chalicelib.credentials import crypto
    from chalicelib.store import providers as rows
    from chalicelib.store.shared import store

    secret = "unit-master-secret-0123456789-0123456789"
    local_env({**ENV, "AIHUB_SECRET": secret, "AIHUB_SNAPSHOT_REFRESH_S": "3600"})  # only this process's changes
    assert plan("gpt-4o-mini") is plan("gpt-4o-mini")
    with pytest.raises(ApiError):  # a refusal is not remembered: it is right until a credential comes
        plan("xai/grok-4")
    before = plan("gpt-4o-mini")
    rows.insert_credential(store(), {"id": "cred_x", "provider": "xai", "name": "k", "type": "api_key",
                                     "secret": crypto.encrypt(secret, "xai-0123456789abcd", "cred_x"), "masked": "xai-...abcd", "weight": 1, "active": 1,
                                     "fail_count": 0, "usage_count": 0, "created_at": 1, "updated_at": 1})
    assert [s.name for s, _ in plan("xai/grok-4").routes] == ["xai"]
    assert plan("gpt-4o-mini") is not before  # rebuilt from the changed tables
    rows.upsert_provider(store(), "xai", {"kind": plan("xai/grok-4").routes[0][0].kind, "enabled": 0})
    with pytest.raises(ApiError) as info:
        plan("xai/grok-4")
    assert info.value.code == "provider_disabled"
