"""The admin web UI in a real browser against a real gateway: one operator's session, in order.

Sign in, create a key, add a credential, set rates, chat in the playground with the answer
streaming in, find the call in the usage explorer and export it, and the error paths (out of
credits, a provider down, a revoked key). Screenshots of every page land in
tests/e2e/screenshots/. The tests share one browser tab and build on each other.
"""
from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import PAGE_ERRORS
from tests.support.gateway import Gateway

pytestmark = pytest.mark.slow

state: dict[str, Any] = {}
SECRET = "sk-e2e-SECRET-deepseek-000111222"
PROMPT = "please count one two three four five six seven eight nine ten eleven twelve"


def shot(page: Any, shots: Path, name: str, *, full: bool = True) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=full)


def go(page: Any, gateway: Gateway, route: str) -> None:
    page.goto(f"{gateway.url}/#{route}")


def sign_in(page: Any, gateway: Gateway, key: str) -> None:
    page.goto(f"{gateway.url}/")
    signed_in = page.get_by_role("button", name="Sign out")
    page.locator("#signin-key").or_(signed_in).wait_for()  # a stored key is checked first
    if signed_in.count():
        signed_in.click()
    page.get_by_label("aihub key").fill(key)
    page.get_by_label("aihub key").press("Enter")  # the keyboard is enough
    signed_in.wait_for()


def until(page: Any, expression: str, timeout_s: float = 30) -> None:
    """page.wait_for_function, which the UI's CSP breaks (it polls with eval()); page.evaluate
    goes through the DevTools protocol, which the CSP does not govern."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout_s} s: {expression}"
        page.wait_for_timeout(20)


def nav(page: Any) -> Any:
    return page.get_by_role("navigation", name="Main")


def main_text(page: Any) -> str:
    return page.locator("main").inner_text()


@pytest.fixture(autouse=True)
def _no_script_errors():
    PAGE_ERRORS.clear()
    yield
    assert not PAGE_ERRORS, f"the page threw: {PAGE_ERRORS}"


def test_sign_in(page, gateway, shots):
    page.goto(f"{gateway.url}/")
    page.get_by_role("heading", name="aihub").wait_for()
    page.get_by_label("aihub key").fill("ah-not-a-key")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "did not accept this key" in alert.inner_text()
    shot(page, shots, "01-sign-in-refused")

    sign_in(page, gateway, gateway.admin_key)
    assert page.locator(".who .badge").inner_text() == "Admin"
    for name in ("Dashboard", "Providers", "Model rates", "Keys & accounts", "Usage", "Playground"):
        assert nav(page).get_by_role("link", name=name, exact=True).is_visible()
    assert page.evaluate("sessionStorage.getItem('aihub.key')") == gateway.admin_key
    page.locator(".page[data-ready=true]").wait_for()
    assert "No calls in the last 24 hours." in main_text(page)
    shot(page, shots, "02-dashboard-empty")

    # Keyboard: Tab from the top reaches the navigation; Enter on a link opens its page.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Usage":
            break
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"  # a visible focus ring
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Usage", exact=True).wait_for()


def test_create_key_limits_and_credits(page, gateway, shots):
    go(page, gateway, "/keys")
    page.get_by_role("heading", name="Keys and accounts").wait_for()
    form = page.get_by_role("form", name="Create a key")
    form.get_by_label("Name").fill("e2e-user")
    form.get_by_label("Starting credits").fill("50")
    form.get_by_role("button", name="Create key").click()
    shown = page.get_by_label("The new key")
    shown.wait_for()
    key = shown.input_value()
    assert key.startswith("ah-") and len(key) > 30
    page.get_by_role("button", name="Copy key").click()
    page.get_by_role("button", name="Copied", exact=True).wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == key
    shot(page, shots, "03-key-created")
    page.get_by_role("button", name="I have copied it").click()
    assert shown.count() == 0
    assert key not in page.content()  # shown once, then gone
    state["user_key"] = key

    form.get_by_label("Name").fill("e2e-broke")
    form.get_by_label("Starting credits").fill("")
    form.get_by_role("button", name="Create key").click()
    state["broke_key"] = page.get_by_label("The new key").input_value()
    page.get_by_role("button", name="I have copied it").click()

    row = page.locator("tr", has_text="e2e-user")
    row.get_by_role("button", name="Limits of e2e-user").click()
    limits = page.get_by_role("form", name="Limits of e2e-user")
    limits.get_by_label("Requests per minute").fill("600")
    limits.get_by_label("Monthly cap (credits)").fill("40")
    limits.get_by_role("button", name="Save limits").click()
    page.locator("tr", has_text="e2e-user").get_by_text("600 rpm · 40/month").wait_for()

    row.get_by_role("link", name="e2e-user").click()
    grant = page.get_by_role("form", name="Grant credits")
    grant.get_by_label("Amount (credits)").fill("10")
    grant.get_by_label("Note").fill("welcome bonus")
    grant.get_by_role("button", name="Grant").click()
    page.get_by_text("Added 10 credits (grant).").wait_for()
    page.get_by_text("welcome bonus").wait_for()
    panel = page.locator("section", has=page.get_by_role("heading", name="Account acct_"))
    assert "60" in panel.locator(".stat", has_text="Balance").inner_text()
    shot(page, shots, "04-keys-and-accounts")


def test_add_and_check_a_credential(page, gateway, fake, shots):
    fake.route("GET", "/v1/models", status=401, json={"error": {
        "message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key"}})
    go(page, gateway, "/providers?p=deepseek")
    page.get_by_role("heading", name="Credentials of deepseek").wait_for()
    form = page.get_by_role("form", name="Add a credential")
    form.get_by_label("Name").fill("e2e-deepseek")
    form.get_by_label("API key").fill(SECRET)
    form.get_by_role("button", name="Add credential").click()
    refused = form.get_by_role("alert")
    refused.wait_for()
    assert "failed its live check" in refused.inner_text()
    assert "Incorrect API key provided" in refused.inner_text() or "401" in refused.inner_text()
    shot(page, shots, "05-credential-refused")

    form.get_by_label("Check it live with the provider first").uncheck()
    form.get_by_role("button", name="Add credential").click()
    form.get_by_text("Added e2e-deepseek").wait_for()
    row = page.locator("tr", has_text="e2e-deepseek")
    assert SECRET not in page.content()  # masked only, from now on
    assert row.locator("code").inner_text().startswith(SECRET[:4])

    row.get_by_role("button", name="Check now").click()
    failed = row.get_by_text("Live check failed:")
    failed.wait_for()
    state["check_reason"] = failed.inner_text()
    row.get_by_text("disabled", exact=True).wait_for()  # a key that fails its check is taken out

    fake.route("GET", "/v1/models", json={"object": "list", "data": []})  # the key works now
    row.get_by_role("button", name="Check now").click()
    row.get_by_text("Live check passed").wait_for()
    row.get_by_text("active", exact=True).wait_for()
    row.get_by_label("Weight of e2e-deepseek").fill("3")
    row.get_by_role("button", name="Save").click()
    row.get_by_role("button", name="Save").wait_for(state="detached")
    creds = httpx.get(f"{gateway.url}/admin/providers/deepseek/credentials",
                      headers={"authorization": f"Bearer {gateway.admin_key}"}).json()["data"]
    assert [(c["name"], c["weight"], c["active"]) for c in creds] == [("e2e-deepseek", 3, True)]
    shot(page, shots, "06-providers")


def test_rates(page, gateway, shots):
    go(page, gateway, "/rates")
    page.get_by_role("heading", name="Model rates").wait_for()
    page.get_by_text("No model has a rate yet.").wait_for()
    add = page.locator("section", has=page.get_by_role("heading", name="Set a rate"))
    add.get_by_label("Provider").select_option("demo")
    add.get_by_label("Model").fill("echo")
    add.get_by_label("Input (credits / 1M tokens)").fill("2")
    add.get_by_label("Output (credits / 1M tokens)").fill("4")
    add.get_by_role("button", name="Save rate").click()
    add.get_by_text("Saved demo/echo.").wait_for()
    page.locator("tr", has_text="demo/echo").wait_for()

    bulk = page.locator("section", has=page.get_by_role("heading", name="Bulk margin update"))
    bulk.get_by_label("Margin (%)").fill("20")
    bulk.get_by_label("Credit price (USD per credit)").fill("1")
    bulk.get_by_label("Provider").select_option("openai")
    bulk.get_by_label("Models").select_option("catalogue")
    bulk.get_by_role("button", name="Preview (dry run)").click()
    preview = page.get_by_label("Dry-run preview")
    preview.wait_for()
    assert "nothing saved yet" in preview.inner_text()
    assert "openai/gpt-4o-mini" in preview.inner_text()
    table = page.locator("section", has=page.get_by_role("heading", name="Rates", exact=True))
    assert table.get_by_text("openai/gpt-4o-mini").count() == 0  # only in the preview so far
    shot(page, shots, "07-rates-preview")
    apply = bulk.get_by_role("button", name="Apply to")
    count = int(apply.inner_text().split()[2])
    apply.click()
    bulk.get_by_text(f"Updated the rates of {count} models.").wait_for()

    page.get_by_role("searchbox", name="Search").fill("gpt-4o-mini")
    row = table.locator("tbody tr", has=page.get_by_text("openai/gpt-4o-mini", exact=True))
    row.wait_for()
    # unit cost 0.15 USD / 1M input tokens x 1.2 at 1 USD a credit = 0.18 credits / 1M tokens
    assert "0.18" in row.inner_text() and "$0.15" in row.inner_text()
    page.get_by_role("searchbox", name="Search").fill("gpt-4.1-nano")
    nano = table.locator("tbody tr", has=page.get_by_text("openai/gpt-4.1-nano", exact=True))
    nano.get_by_role("button", name="Deprecate openai/gpt-4.1-nano").click()
    nano.get_by_text("deprecated").wait_for()
    shot(page, shots, "08-rates")
    nano.get_by_role("button", name="Restore openai/gpt-4.1-nano").click()
    nano.get_by_role("button", name="Deprecate openai/gpt-4.1-nano").wait_for()


def sample_answer(page: Any, *, every: float = 0.1, limit: float = 15.0) -> list[tuple[float, str]]:
    """The newest answer's text at intervals while it streams, until its usage line shows."""
    answer = page.get_by_test_id("answer").last
    answer.wait_for()
    samples = []
    started = time.monotonic()
    while time.monotonic() - started < limit:
        samples.append((time.monotonic() - started, answer.inner_text()))
        if page.get_by_test_id("answer-meta").count() and not page.locator(".msg[aria-busy=true]").count():
            break
        time.sleep(every)
    return samples


def test_playground_streams_tokens_as_they_arrive(page, gateway, shots, capsys):
    sign_in(page, gateway, state["user_key"])
    assert page.locator(".who .badge").inner_text() == "User"
    assert nav(page).get_by_role("link", name="Providers").count() == 0
    go(page, gateway, "/playground")
    page.get_by_label("Model").select_option("demo/echo")
    page.get_by_label("Message").fill(PROMPT)
    # Every change of the answer's text, timed inside the page.
    page.evaluate("""() => {
        window.__growth = [];
        new MutationObserver(() => {
            const all = document.querySelectorAll('[data-testid=answer]');
            const text = all.length ? all[all.length - 1].textContent : '';
            const last = window.__growth[window.__growth.length - 1];
            if (!last || last[1] !== text.length) window.__growth.push([performance.now(), text.length]);
        }).observe(document.body, {subtree: true, childList: true, characterData: true});
    }""")
    page.get_by_role("button", name="Send").click()
    page.get_by_role("button", name="Stop").wait_for()
    until(page, "(document.querySelector('[data-testid=answer]') || {}).textContent?.length > 40")
    shot(page, shots, "09-playground-streaming", full=False)
    samples = sample_answer(page)
    lengths = [len(text) for _, text in samples]
    growing = sorted(set(lengths))
    final = samples[-1][1]
    assert PROMPT in final, final
    # The answer grew over time: seen at many lengths, each sample no shorter than the one before.
    assert lengths == sorted(lengths)
    assert len(growing) >= 5, samples
    growth = page.evaluate("window.__growth")
    span_ms = growth[-1][0] - growth[0][0]
    with capsys.disabled():  # shown in `make test` output too
        print(f"\nplayground: the answer changed {len(growth)} times over {span_ms:.0f} ms; "
              f"sampled at {len(samples)} points with {len(growing)} different lengths")
    assert len(growth) >= 15 and span_ms > 1000  # ~22 words, 100 ms apart

    meta = page.get_by_test_id("answer-meta").last
    meta.get_by_text("credits", exact=False).wait_for()
    until(page, "!document.querySelector('[data-testid=answer-meta]').textContent.includes('credits…')")
    text = meta.inner_text()
    assert "in ·" in text and "out tokens" in text
    request_id = meta.locator("a code").inner_text()
    assert request_id.startswith("req_")
    state["request_id"] = request_id
    call = httpx.get(f"{gateway.url}/v1/usage/calls/{request_id}",
                     headers={"authorization": f"Bearer {state['user_key']}"}).json()
    assert call["credits"] > 0 and call["stream"] is True
    assert "first token" in text
    shot(page, shots, "09-playground-done")

    # Through a real (fake) upstream over HTTP too: four pieces, 150 ms apart.
    page.get_by_label("Model").select_option("openai/gpt-4o-mini")
    page.get_by_label("Message").fill("hi")
    page.get_by_label("Message").press("Enter")
    page.get_by_role("button", name="Stop").wait_for()
    samples = sample_answer(page, every=0.05)
    assert samples[-1][1] == "Hello from the fake upstream."
    assert len({len(t) for _, t in samples}) >= 3, samples


def test_usage_explorer_and_csv(page, gateway, shots, tmp_path):
    request_id = state["request_id"]
    go(page, gateway, "/usage")
    page.get_by_role("heading", name="Usage", exact=True).wait_for()
    page.get_by_role("button", name=f"Details of call {request_id}").click()
    details = page.locator("section", has=page.get_by_role("heading", name="Call details"))
    details.get_by_text(request_id).wait_for()
    assert "demo/echo" in details.inner_text() and "Credits" in details.inner_text()
    shot(page, shots, "10-usage-details")

    page.get_by_label("Model", exact=True).fill("openai/gpt-4o-mini")
    page.get_by_role("button", name="Apply").click()
    page.get_by_role("button", name=f"Details of call {request_id}").wait_for(state="detached")
    rows = page.locator("table.calls tbody tr")
    assert rows.count() == 1 and "openai/gpt-4o-mini" in rows.inner_text()
    page.get_by_role("button", name="Reset").click()
    page.get_by_role("button", name=f"Details of call {request_id}").wait_for()

    with page.expect_download() as info:
        page.get_by_role("button", name="Export CSV").click()
    download = info.value
    assert download.suggested_filename.startswith("aihub-calls-") and download.suggested_filename.endswith(".csv")
    path = tmp_path / "calls.csv"
    download.save_as(path)
    table = list(csv.reader(io.StringIO(path.read_text())))
    assert table[0][:3] == ["request_id", "created_at", "time"]
    assert request_id in [row[0] for row in table[1:]]
    assert len(table) == 3  # a header and the two calls of this key


def test_my_account(page, gateway, shots):
    go(page, gateway, "/account")
    page.get_by_role("heading", name="My account").wait_for()
    ledger = page.locator("section", has=page.get_by_role("heading", name="Ledger"))
    ledger.get_by_text("charge").first.wait_for()
    assert "welcome bonus" in ledger.inner_text()
    credits = httpx.get(f"{gateway.url}/v1/credits", headers={"authorization": f"Bearer {state['user_key']}"}).json()
    assert credits["granted"] == 60 and 0 < credits["used"] < 1  # 60 granted, a little spent
    shown = page.locator(".stat", has_text="Used").locator(".stat-value").inner_text()
    assert float(shown) == pytest.approx(credits["used"], rel=1e-3)
    shot(page, shots, "11-my-account")


def test_errors_out_of_credits_provider_down_and_revoked_key(page, gateway, fake, shots):
    sign_in(page, gateway, state["broke_key"])
    go(page, gateway, "/playground")
    page.get_by_label("Model").select_option("demo/echo")
    page.get_by_label("Message").fill("hello?")
    page.get_by_role("button", name="Send").click()
    alert = page.locator(".msg").get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text().startswith("Out of credits:")
    shot(page, shots, "12-out-of-credits")

    sign_in(page, gateway, state["user_key"])
    fake.route("POST", "/v1/chat/completions", status=500, json={"error": {
        "message": "The server had an error while processing your request.", "type": "server_error"}})
    try:
        go(page, gateway, "/playground")
        page.get_by_label("Model").select_option("openai/gpt-4o-mini")
        page.get_by_label("Message").fill("are you there?")
        page.get_by_role("button", name="Send").click()
        alert = page.locator(".msg").get_by_role("alert")
        alert.wait_for()
        message = alert.inner_text()
        calls = httpx.get(f"{gateway.url}/v1/usage/calls?status=failed",
                          headers={"authorization": f"Bearer {state['user_key']}"}).json()["data"]
        assert calls and calls[0]["error"] and calls[0]["error"] in message  # the gateway's own words
        shot(page, shots, "13-provider-down")
    finally:
        fake.reset()
        fake.add_chat_echo(chunk_delay=0.15)

    keys = httpx.get(f"{gateway.url}/admin/keys", headers={"authorization": f"Bearer {gateway.admin_key}"}).json()["data"]
    key_id = next(k["id"] for k in keys if k["name"] == "e2e-user")
    httpx.delete(f"{gateway.url}/admin/keys/{key_id}", headers={"authorization": f"Bearer {gateway.admin_key}"})
    nav(page).get_by_role("link", name="Dashboard").click()
    page.get_by_label("aihub key").wait_for()
    warning = page.get_by_role("alert")
    assert "no longer accepts this key" in warning.inner_text()
    assert page.evaluate("sessionStorage.getItem('aihub.key')") is None
    shot(page, shots, "14-revoked-key")


def test_dashboard_renders_soon_after_the_api_answers(page, gateway, shots, capsys):
    sign_in(page, gateway, gateway.admin_key)
    timings = []
    for attempt in range(3):
        page.reload()
        page.locator(".page[data-ready=true]").wait_for()
        until(page, "performance.getEntriesByName('aihub:dashboard-rendered').length > 0")
        timings.append(page.evaluate("""() => {
            const api = performance.getEntriesByType('resource')
                .filter((e) => /\\/admin\\/(usage|providers)/.test(e.name) && !/\\/v1\\/status/.test(e.name));
            const answered = Math.max(...api.map((e) => e.responseEnd));
            const rendered = performance.getEntriesByName('aihub:dashboard-rendered')[0].startTime;
            return {answered, rendered, after: rendered - answered, requests: api.length};
        }"""))
    with capsys.disabled():  # shown in `make test` output too
        for t in timings:
            print(f"\ndashboard: {t['requests']} API calls answered {t['answered']:.0f} ms after navigation; "
                  f"on screen {t['after']:.1f} ms later (at {t['rendered']:.0f} ms)")
    assert all(t["after"] < 1000 for t in timings), timings
    text = main_text(page)
    assert "demo/echo" in text and "openai/gpt-4o-mini" in text  # top models
    assert "deepseek" in text  # provider health
    assert page.locator("figure.chart svg rect.chart-bar").count() > 0
    shot(page, shots, "15-dashboard")


def test_api_reference(page, gateway, shots):
    """The API page renders the gateway's own /openapi.json under the UI's CSP: every tag and
    operation, and an operation's body fields once opened."""
    sign_in(page, gateway, gateway.admin_key)
    nav(page).get_by_role("link", name="API", exact=True).click()
    page.get_by_role("heading", name="API reference").wait_for()
    spec = httpx.get(f"{gateway.url}/openapi.json").json()
    assert page.locator("main h2").all_inner_texts() == [tag["name"] for tag in spec["tags"]]
    assert page.locator("details.operation").count() == sum(len(methods) for methods in spec["paths"].values())
    chat = page.locator("details.operation", has=page.get_by_text("/v1/chat/completions", exact=True))
    chat.locator("summary").first.click()
    body = chat.locator(".operation-body")
    body.wait_for()
    assert "messages" in body.inner_text() and "required" in body.inner_text()
    shot(page, shots, "17-api-reference")


@pytest.mark.parametrize("route,name", [("/", "dashboard"), ("/playground", "playground"), ("/usage", "usage"),
                                        ("/keys", "keys"), ("/providers", "providers"), ("/rates", "rates"),
                                        ("/api", "api")])
def test_phone_width(page, gateway, shots, route, name):
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        go(page, gateway, route)
        page.locator("main h1").first.wait_for()
        page.wait_for_timeout(400)  # the page's data
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{route} scrolls sideways by {overflow}px at 390px"
        shot(page, shots, f"16-phone-{name}", full=False)
    finally:
        page.set_viewport_size({"width": 1280, "height": 860})
