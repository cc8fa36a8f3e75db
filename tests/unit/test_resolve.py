from __future__ import annotations

import pytest

from chalicelib.config import from_env
from chalicelib.errors import ApiError
from chalicelib.gateway.resolve import resolve

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
def test_resolves(model, provider, upstream, credential):
    target = resolve(model, from_env(ENV))
    assert (target.provider.name, target.model, target.credential.id) == (provider, upstream, credential)


def test_bare_name_falls_back_to_openrouter_with_its_model_id():
    target = resolve("claude-sonnet-4-5", from_env({"OPENROUTER_API_KEY": "sk-or-0000000000"}))
    assert (target.provider.name, target.model) == ("openrouter", "anthropic/claude-sonnet-4-5")


@pytest.mark.parametrize(
    ("model", "status", "code"),
    [
        ("no-such-model", 404, "model_not_found"),
        ("nope/whatever", 404, "model_not_found"),
        ("xai/grok-4", 503, "provider_not_configured"),
        ("grok-4", 503, "provider_not_configured"),
    ],
)
def test_errors(model, status, code):
    with pytest.raises(ApiError) as info:
        resolve(model, from_env(ENV))
    assert (info.value.status, info.value.code) == (status, code)


def test_bedrock_takes_bare_names_only_through_its_map():
    env = {"AWS_ACCESS_KEY_ID": "AKIATEST", "AWS_SECRET_ACCESS_KEY": "secret"}
    target = resolve("claude-sonnet-4-5", from_env(env))
    assert (target.provider.name, target.model) == ("bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert target.credential.secret == {"access_key_id": "AKIATEST", "secret_access_key": "secret"}
    with pytest.raises(ApiError) as info:
        resolve("claude-unmapped-9", from_env(env))
    assert info.value.code == "provider_not_configured"
    # a pinned Bedrock model id goes as it is
    assert resolve("bedrock/amazon.nova-lite-v1:0", from_env(env)).model == "amazon.nova-lite-v1:0"
