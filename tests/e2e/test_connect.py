"""`aigne hub connect` with the approval given where a person gives it: the real CLI (throwaway
HOME) opens the page, Chromium follows it into the web UI, the user signs in with their aihub
key, sees which app asks and approves; the CLI then stores the issued key and `aigne run`
answers through aihub with it."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_web_ui import main_text, shot
from tests.integration.test_aigne_connect import (
    assert_connected_and_runs,
    start_connect,
)
from tests.integration.test_aigne_hub import node  # noqa: F401 (a fixture)
from tests.support.gateway import create_key

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def user(gateway) -> dict:
    with gateway.admin() as api:
        rate = {"provider": "demo", "model": "echo", "type": "chat", "input_rate": 0.000001, "output_rate": 0.000002}
        assert api.post("/admin/model-rates", json=rate).status_code == 201
        return create_key(api, name="connect user", credits=5)


def test_connect_approved_in_the_web_ui(node, page, gateway, user, shots, tmp_path: Path):  # noqa: F811
    cli, home, page_url = start_connect(node, gateway, tmp_path)
    page.goto(page_url)
    assert "#/connect?" in page.url  # the gateway's page is the UI's
    page.get_by_label("aihub key").fill(user["key"])
    page.get_by_label("aihub key").press("Enter")
    page.get_by_role("heading", name="Connect an app").wait_for()
    assert page.get_by_test_id("connect-app").inner_text() == "AIGNE CLI"
    assert page.get_by_test_id("connect-source").inner_text() == "@aigne/cli connect to AIGNE hub"
    shot(page, shots, "connect-approve")
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("Connected.").wait_for()
    shot(page, shots, "connect-approved")
    assert_connected_and_runs(node, gateway, user, cli, home, tmp_path)
    stored = (home / ".aigne" / "aigne-hub-connected.yaml").read_text()
    issued = stored.split("AIGNE_HUB_API_KEY: ", 1)[1].split()[0]
    # the page names the new key by its mask; the key itself reached the CLI only
    assert f"{issued[:4]}...{issued[-4:]}" in main_text(page) and issued not in page.content()


def test_deny_ends_the_clis_wait(node, page, gateway, user, tmp_path: Path):  # noqa: F811
    cli, home, page_url = start_connect(node, gateway, tmp_path)
    page.goto(page_url)  # still signed in (the key is kept for the tab)
    page.get_by_role("button", name="Deny").click()
    page.get_by_text("Denied: nothing was issued.").wait_for()
    out = cli.communicate(timeout=30)[0]
    assert "Failed to connect" in out, out
    assert not (home / ".aigne" / "aigne-hub-connected.yaml").exists()
