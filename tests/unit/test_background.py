"""Work may outlive its request only where the event loop lives on: never on Lambda."""
from __future__ import annotations

import pytest

from chalicelib.gateway import background


@pytest.fixture(autouse=True)
def _restore(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(background, "_enabled", False)


@pytest.mark.parametrize("env, available", [({}, True), ({"AWS_LAMBDA_FUNCTION_NAME": "aihub-stream"}, False)])
def test_background_work_is_off_on_lambda(local_env, env, available):
    local_env(env)
    assert not background.available()  # until a long-lived front says so
    background.enable()
    assert background.available() is available
