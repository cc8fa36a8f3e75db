"""The built-in providers, the bare-model-name table, and where credentials come from.

Everything provider-specific that the pipeline needs to know lives in these tables; the
pipeline itself never names a provider.
"""
from __future__ import annotations

import importlib
import re
from functools import lru_cache

from chalicelib.config import Settings
from chalicelib.providers.base import Adapter, Credential, ProviderSpec

_OPENAI_MODELS = (
    "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o",
    "gpt-4o-mini", "o3", "o4-mini", "gpt-3.5-turbo-instruct", "text-embedding-3-small", "text-embedding-3-large",
    "dall-e-3", "gpt-image-1", "omni-moderation-latest", "whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe",
    "tts-1", "tts-1-hd", "gpt-4o-mini-tts", "sora-2", "sora-2-pro",
)

BUILTIN: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (
        ProviderSpec("demo", "demo", "", key_required=False,
                     models=("echo", "embed", "image", "moderation", "whisper", "tts", "video"), closed_models=True),
        ProviderSpec("openai", "openai", "https://api.openai.com/v1", "OPENAI_API_KEY", "OPENAI_BASE_URL",
                     models=_OPENAI_MODELS, responses_api=True),
        ProviderSpec("deepseek", "openai", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", "DEEPSEEK_BASE_URL",
                     models=("deepseek-chat", "deepseek-reasoner")),
        ProviderSpec("xai", "openai", "https://api.x.ai/v1", "XAI_API_KEY", "XAI_BASE_URL",
                     models=("grok-4", "grok-3", "grok-3-mini", "grok-2-image")),
        ProviderSpec("openrouter", "openai", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", "OPENROUTER_BASE_URL",
                     extra_headers=(("x-title", "aihub"),),
                     models=("openai/gpt-4o-mini", "anthropic/claude-sonnet-4.5", "google/gemini-2.5-flash")),
        # Ollama needs no key: its base URL alone makes it usable.
        ProviderSpec("ollama", "openai", "http://localhost:11434/v1", "OLLAMA_API_KEY", "OLLAMA_BASE_URL",
                     key_required=False, models=("llama3.2", "qwen2.5")),
        ProviderSpec("doubao", "openai", "https://ark.cn-beijing.volces.com/api/v3", "DOUBAO_API_KEY", "DOUBAO_BASE_URL",
                     models=("doubao-seed-1-6-250615", "doubao-seedream-3-0-t2i-250415")),
        ProviderSpec("poe", "openai", "https://api.poe.com/v1", "POE_API_KEY", "POE_BASE_URL",
                     models=("Claude-Sonnet-4", "GPT-4o")),
        ProviderSpec("anthropic", "anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
                     auth_header="x-api-key", auth_scheme="", extra_headers=(("anthropic-version", "2023-06-01"),),
                     models=("claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5", "claude-3-5-haiku-latest")),
        ProviderSpec("google", "gemini", "https://generativelanguage.googleapis.com", "GEMINI_API_KEY", "GEMINI_BASE_URL",
                     auth_header="x-goog-api-key", auth_scheme="",
                     models=("gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-embedding-001",
                             "text-embedding-004", "gemini-2.5-flash-image", "imagen-4.0-generate-001",
                             "veo-3.0-generate-001", "veo-3.0-fast-generate-001")),
        # botocore reads AWS_ENDPOINT_URL_BEDROCK_RUNTIME itself; it is named here so the
        # endpoint override shows up with the other providers' base URLs.
        ProviderSpec("bedrock", "bedrock", "", base_url_env="AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
                     secret_env=(("access_key_id", "AWS_ACCESS_KEY_ID"), ("secret_access_key", "AWS_SECRET_ACCESS_KEY"),
                                 ("session_token", "AWS_SESSION_TOKEN")),
                     models=("anthropic.claude-sonnet-4-5-20250929-v1:0", "amazon.nova-pro-v1:0", "amazon.nova-lite-v1:0",
                             "meta.llama3-3-70b-instruct-v1:0", "amazon.titan-embed-text-v2:0", "cohere.embed-english-v3"),
                     model_map=(("claude-sonnet-4-5", "anthropic.claude-sonnet-4-5-20250929-v1:0"),
                                ("claude-haiku-4-5", "anthropic.claude-haiku-4-5-20251001-v1:0"),
                                ("claude-opus-4-1", "anthropic.claude-opus-4-1-20250805-v1:0")),
                     bare_names_mapped_only=True),
        ProviderSpec("ideogram", "ideogram", "https://api.ideogram.ai", "IDEOGRAM_API_KEY", "IDEOGRAM_BASE_URL",
                     auth_header="api-key", auth_scheme="", models=("ideogram-v3",)),
    )
}

# Bare model names: which providers may serve them, in order of preference, and the id each
# one knows the model by ({m} is the name as the client sent it).
MODEL_PATTERNS: tuple[tuple[re.Pattern[str], tuple[tuple[str, str], ...]], ...] = tuple(
    (re.compile(pattern), routes)
    for pattern, routes in (
        ((r"^(gpt-|o\d|chatgpt-|dall-e|text-embedding-3|text-embedding-ada|gpt-image|davinci|babbage"
          r"|omni-moderation|text-moderation|whisper|tts-|sora)"),
         (("openai", "{m}"), ("openrouter", "openai/{m}"))),
        (r"^claude", (("anthropic", "{m}"), ("bedrock", "{m}"), ("openrouter", "anthropic/{m}"))),
        (r"^(gemini|imagen|veo|text-embedding-004)", (("google", "{m}"), ("openrouter", "google/{m}"))),
        (r"^deepseek", (("deepseek", "{m}"), ("openrouter", "deepseek/{m}"))),
        (r"^grok", (("xai", "{m}"), ("openrouter", "x-ai/{m}"))),
        (r"^doubao", (("doubao", "{m}"),)),
        (r"^(amazon\.|anthropic\.|meta\.|cohere\.|mistral\.|ai21\.|(us|eu|apac)\.)", (("bedrock", "{m}"),)),
        (r"^(llama|qwen|mistral|phi|gemma)", (("ollama", "{m}"),)),
        (r"^ideogram", (("ideogram", "{m}"),)),
    )
)

_ADAPTERS = {
    "openai": "chalicelib.providers.openai_compat.adapter",
    "demo": "chalicelib.providers.demo",
    "anthropic": "chalicelib.providers.anthropic.adapter",
    "gemini": "chalicelib.providers.gemini.adapter",
    "bedrock": "chalicelib.providers.bedrock.adapter",
    "ideogram": "chalicelib.providers.ideogram.adapter",
}


def kinds() -> tuple[str, ...]:
    return tuple(_ADAPTERS)


@lru_cache(maxsize=None)
def adapter(kind: str) -> Adapter:
    """The adapter of a kind, imported on first use (keeps cold start small)."""
    return importlib.import_module(_ADAPTERS[kind]).ADAPTER


def base_url(spec: ProviderSpec, settings: Settings) -> str:
    url = (spec.base_url_env and settings.provider_env(spec.base_url_env)) or spec.base_url
    return url.rstrip("/")


def env_credential(spec: ProviderSpec, settings: Settings) -> Credential | None:
    """The credential from the environment fallback, when the database has none."""
    if spec.kind == "demo":
        return Credential("builtin", None)
    if spec.secret_env:
        fields = {name: settings.provider_env(var) for name, var in spec.secret_env}
        if fields[spec.secret_env[0][0]]:
            return Credential(f"env:{spec.secret_env[0][1]}", {k: v for k, v in fields.items() if v})
        return None
    secret = spec.key_env and settings.provider_env(spec.key_env)
    if secret:
        return Credential(f"env:{spec.key_env}", secret)
    if not spec.key_required and spec.base_url_env and settings.provider_env(spec.base_url_env):
        return Credential(f"env:{spec.base_url_env}", None)
    return None


def candidates(model: str) -> list[tuple[str, str]]:
    """(provider, provider's model id) pairs that may serve a bare model name."""
    for pattern, routes in MODEL_PATTERNS:
        if pattern.search(model):
            return [(provider, template.format(m=model)) for provider, template in routes]
    return []
