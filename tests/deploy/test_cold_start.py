"""Issue 14: a cold Lambda container loads only what its first request needs.

Each test runs a fresh interpreter through the API function's handler (tests/support/cold_start.py,
what the bench times) on a database already at the current schema, against a fake OpenAI upstream,
and checks the modules it loaded: no AWS SDK, no sqlite-utils (the schema check is plain sqlite3),
no server, no other dialect, provider or admin room, no upload, video or audio code. Timings are
the bench's business (`python -m tests.bench`, cold start rows); these hold the line it measured.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROVIDER_ENV_PREFIXES
from tests.fakes.upstream import FakeUpstream
from tests.support import cold_start as cold

# Loaded by neither request: each entry a package or module, all its submodules included.
NEVER = (
    "boto3", "botocore", "sqlite_utils", "aiohttp", "httpx_aiohttp", "uvicorn", "starlette",
    "prometheus_client", "opentelemetry", "cryptography",
    "click", "pygments",  # httpx's command-line client (chalicelib/__init__.py)
    "chalicelib.fronts.asgi_front", "chalicelib.cli", "chalicelib.openapi", "chalicelib.analytics",
    "chalicelib.surfaces.anthropic_messages", "chalicelib.surfaces.openai_responses",
    "chalicelib.surfaces.gemini_generate", "chalicelib.surfaces.aigne_hub", "chalicelib.surfaces.openai_completions",
    "chalicelib.providers.anthropic", "chalicelib.providers.gemini", "chalicelib.providers.bedrock",
    "chalicelib.providers.ideogram", "chalicelib.providers.demo", "chalicelib.providers.aiohttp_transport",
    "chalicelib.providers.video", "chalicelib.providers.transcript", "chalicelib.providers.openai_compat.videos",
    "chalicelib.api.admin", "chalicelib.api.anthropic", "chalicelib.api.responses", "chalicelib.api.gemini",
    "chalicelib.api.aigne", "chalicelib.api.model_list", "chalicelib.api.multipart",
    "chalicelib.handlers.admin", "chalicelib.handlers.billing", "chalicelib.handlers.usage",
    "chalicelib.handlers.providers", "chalicelib.handlers.openapi_spec",
    "chalicelib.blobs", "chalicelib.media",
)
# GET /health answers without the model-call path: no wire models, no HTTP client, no database.
NOT_FOR_HEALTH = ("pydantic", "httpx", "httpcore", "sqlite3", "chalicelib.gateway.pipeline", "chalicelib.store")


def _loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == name or m.startswith(name + ".") for name in names))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    parent = {k: v for k, v in os.environ.items() if not k.startswith(PROVIDER_ENV_PREFIXES)}
    with FakeUpstream() as upstream:
        upstream.add_chat_echo()
        base = cold.base_env(parent, upstream.base_url, Path(tmp_path_factory.mktemp("cold")) / "cold.db")
        yield {"env": base, "key": cold.user_key(base), "upstream": upstream}


def test_health_loads_no_model_call_machinery(env):
    report = cold.run(cold.child_env(env["env"], "/health", None))
    assert report["status"] == 200 and '"ok"' in report["body"]
    assert "app" in report["modules"] and "chalice" in report["modules"]  # the list is the child's own
    assert _loaded(report["modules"], NEVER + NOT_FOR_HEALTH) == []


def test_first_chat_completion_loads_only_its_own_path(env):
    upstream: FakeUpstream = env["upstream"]
    upstream.clear()
    report = cold.run(cold.child_env(env["env"], "/v1/chat/completions", env["key"]))
    assert report["status"] == 200, report["body"]
    assert [r.path for r in upstream.requests] == ["/v1/chat/completions"]  # answered by the fake, not cached
    # What the call did need is there: the OpenAI room, the wire models, the HTTP client, the database.
    for needed in ("chalicelib.providers.openai_compat.adapter", "chalicelib.surfaces.openai_chat", "pydantic",
                   "httpx", "sqlite3", "chalicelib.store.migrations"):
        assert needed in report["modules"], needed
    assert _loaded(report["modules"], NEVER) == []
