from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.fakes.upstream import FakeUpstream
from tests.support.gateway import Gateway, create_key, start_gateway, upstream_env


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream() as upstream:
        yield upstream


@pytest.fixture(autouse=True)
def _fresh_fake(request: pytest.FixtureRequest) -> None:
    if "fake" in request.fixturenames:
        request.getfixturevalue("fake").reset()


@pytest.fixture(scope="session")
def gateway(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = start_gateway(tmp_path_factory.mktemp("gateway"), upstream_env(fake.base_url))
    yield gw
    gw.stop()


@pytest.fixture(scope="session")
def admin(gateway: Gateway) -> Iterator[httpx.Client]:
    with gateway.admin() as c:
        yield c


@pytest.fixture
def user(admin: httpx.Client) -> dict:
    """A fresh user key (with its own account) for each test."""
    return create_key(admin, credits=5)


@pytest.fixture
def client(gateway: Gateway, user: dict) -> openai.OpenAI:
    return gateway.openai(user["key"])


def calls_of(admin: httpx.Client, account_id: str) -> list[dict]:
    response = admin.get("/admin/calls", params={"account_id": account_id, "limit": 1000})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def only_call(admin: httpx.Client, key: dict, surface: str | None = None) -> dict:
    """The one call the key's account made (through `surface`, when given)."""
    (call,) = calls_of(admin, key["account_id"])
    if surface is not None:
        assert call["surface"] == surface
    return call


# For modules that start a gateway of their own as `gw` (billing on, their rates set): an admin
# client of it and a key with credits. A module may define its own to differ.
@pytest.fixture
def api(gw: Gateway) -> Iterator[httpx.Client]:
    with gw.admin() as c:
        yield c


@pytest.fixture
def key(api: httpx.Client) -> dict:
    return create_key(api, credits=10)


def only(fake: FakeUpstream, path: str):
    """The one request the fake upstream received on `path`."""
    (sent,) = [r for r in fake.requests if r.path == path]
    return sent
