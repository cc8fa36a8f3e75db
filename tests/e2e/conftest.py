"""End-to-end fixtures: the real gateway (billing on, streaming demo model), a fake OpenAI
upstream, and Debian's Chromium driven by Playwright for Python.

Playwright's own browser download is never used: the tests drive /usr/bin/chromium. Without
it, or without the built UI, these tests skip, unless AIHUB_E2E=required (as `make test`
sets), where they fail instead.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.upstream import FakeUpstream
from tests.support.gateway import ROOT, Gateway, start_gateway, upstream_env

CHROMIUM = Path(os.environ.get("AIHUB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
UI_INDEX = ROOT / "chalicelib" / "ui" / "index.html"
SHOTS = Path(__file__).parent / "screenshots"
PAGE_ERRORS: list[str] = []  # uncaught script errors and CSP violations of the pages under test


def _missing() -> str | None:
    if not UI_INDEX.is_file():
        return f"the web UI is not built ({UI_INDEX} is missing; `make ui` builds it)"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (`apt-get install chromium`)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (requirements-e2e.txt)"
    return None


@pytest.fixture(scope="session")
def e2e_ready() -> None:
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("AIHUB_E2E") == "required":
        pytest.fail(f"end-to-end tests cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shots(e2e_ready: None) -> Path:
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    return SHOTS


# Module scope, not session: Playwright's sync API keeps an event loop marked as running in
# this thread while it is open, which would break every later test that calls asyncio.run().
@pytest.fixture(scope="module")
def fake(e2e_ready: None) -> Iterator[FakeUpstream]:
    with FakeUpstream() as upstream:
        upstream.add_chat_echo(chunk_delay=0.15)  # "Hello from the fake upstream." in 4 timed pieces
        yield upstream


@pytest.fixture(scope="module")
def gateway(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = {**upstream_env(fake.base_url), "AIHUB_BILLING": "on", "AIHUB_DEMO_DELAY_MS": "100"}
    gw = start_gateway(tmp_path_factory.mktemp("e2e-gateway"), env)
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def browser(e2e_ready: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def context(browser: Any, gateway: Gateway) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True, locale="en-US",
                              timezone_id="UTC")
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=gateway.url)
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def page(context: Any) -> Iterator[Any]:
    tab = context.new_page()
    tab.on("pageerror", lambda error: PAGE_ERRORS.append(str(error)))
    # What the Content-Security-Policy blocked (an inline script, an eval, a foreign source)
    # is reported on the console only.
    tab.on("console", lambda message: PAGE_ERRORS.append(message.text)
           if "Content Security Policy" in message.text else None)
    yield tab
    tab.close()
