"""Fixtures shared by unit and integration tests."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

PROVIDER_ENV_PREFIXES = ("AIHUB_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "AWS_", "DEEPSEEK_", "XAI_",
                         "OPENROUTER_", "OLLAMA_", "DOUBAO_", "POE_", "IDEOGRAM_")


def reset_process_state() -> None:
    """Forget every per-process cache that depends on the environment or the database."""
    from chalicelib import blobs, config
    from chalicelib.credentials import health, pool
    from chalicelib.hotstate import dynamodb
    from chalicelib.observability import hub
    from chalicelib.store import shared

    config.settings.cache_clear()
    config.previous_secret.cache_clear()
    dynamodb.hot_state.cache_clear()
    blobs.blob_store.cache_clear()
    config.observability.cache_clear()
    hub.call_observers.cache_clear()
    hub.prometheus_on.cache_clear()
    shared.reset()
    pool._scores.clear()
    health._model_state.clear()


@pytest.fixture
def local_env(tmp_path, monkeypatch) -> Iterator[Callable[[dict[str, str]], None]]:
    """In-process gateway state on a fresh database with exactly the given environment."""

    def apply(env: dict[str, str]) -> None:
        for name in list(os.environ):
            if name.startswith(PROVIDER_ENV_PREFIXES):
                monkeypatch.delenv(name)
        monkeypatch.setenv("AIHUB_DB", str(tmp_path / "unit.db"))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        reset_process_state()

    yield apply
    reset_process_state()
