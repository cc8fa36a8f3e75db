"""One in-process gateway per module (hypothesis runs many examples against it), on a fresh
database, with billing on, the demo models priced, and providers unreachable but on loopback."""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import PROVIDER_ENV_PREFIXES, reset_process_state
from tests.support.inprocess import InProcessGateway, gateway_env, loopback_only

# The demo models answer; the others are priced so that a fuzzed call runs their adapter's
# translation before it fails to connect (a 502).
PRICED = [("demo", "echo", "chat"), ("demo", "embed", "embedding"), ("demo", "image", "image"),
          ("openai", "gpt-4o", "chat"), ("anthropic", "claude-sonnet-4-5", "chat"),
          ("google", "gemini-2.5-flash", "chat"), ("bedrock", "amazon.nova-lite-v1:0", "chat"),
          ("openai", "text-embedding-3-small", "embedding"), ("google", "gemini-embedding-001", "embedding"),
          ("openai", "gpt-image-1", "image"), ("ideogram", "V_3", "image")]
RATES = [{"provider": provider, "model": model, "type": kind, "input_rate": 0.000001, "output_rate": 0.000002,
          "image_rate": 0.01} for provider, model, kind in PRICED]


@dataclass
class World:
    """The gateway and what exists in it: the keys to call with and ids a path may name."""

    gw: InProcessGateway
    user_key: str
    account_id: str
    victim_key_id: str  # the key routes may revoke or change: never the one the fuzz calls with
    victim_account_id: str
    credential_id: str
    rate_id: int
    request_id: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with pytest.MonkeyPatch.context() as mp, loopback_only(mp):
        for name in list(os.environ):
            if name.startswith(PROVIDER_ENV_PREFIXES):
                mp.delenv(name)
        for name, value in {**gateway_env(), "AIHUB_DB": str(tmp_path_factory.mktemp("fuzz") / "fuzz.db")}.items():
            mp.setenv(name, value)
        reset_process_state()
        gw = InProcessGateway()
        try:
            yield _populate(gw)
        finally:
            gw.close()
            reset_process_state()


def _populate(gw: InProcessGateway) -> World:
    rate_id = 0
    for rate in RATES:
        created = gw.admin("POST", "/admin/model-rates", json=rate)
        assert created.status_code == 201, created.text
        rate_id = created.json()["id"]
    user = gw.new_user(credits=1000)
    victim = gw.new_user(credits=1)
    credential = gw.admin("POST", "/admin/providers/openai/credentials", json={"value": "sk-fuzz-0123456789",
                                                                              "check": False})
    assert credential.status_code == 201, credential.text
    call = gw.request("POST", "/v1/chat/completions", key=user["key"],
                      json={"model": "demo/echo", "messages": [{"role": "user", "content": "hello"}]})
    assert call.status_code == 200, call.text
    return World(gw, user["key"], user["account_id"], victim["id"], victim["account_id"], credential.json()["id"],
                 rate_id, call.headers["x-request-id"])
