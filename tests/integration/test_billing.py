"""Credit billing end to end: exact charges per provider, reservations under real concurrency
(threads, and processes on one database file), limits, grants and the rate catalogue."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import openai
import orjson
import pytest

from tests.fakes import anthropic as fa
from tests.fakes import gemini as fg
from tests.fakes.upstream import FakeUpstream
from tests.integration.conftest import calls_of
from tests.support.gateway import Gateway, create_key, start_gateway, upstream_env

MINOR = Decimal(10) ** 9
RATES = {  # credits per token (per image for image_rate)
    ("openai", "gpt-5-nano"): {"input_rate": "0.00000005", "output_rate": "0.0000004", "cache_read_rate": "0.000000005"},
    ("anthropic", "claude-sonnet-4-5"): {"input_rate": "0.000003", "output_rate": "0.000015",
                                         "cache_read_rate": "0.0000003", "cache_write_rate": "0.00000375"},
    ("google", "gemini-2.5-flash"): {"input_rate": "0.0000003", "output_rate": "0.0000025",
                                     "cache_read_rate": "0.000000075"},
    ("openai", "gpt-image-1-mini"): {"type": "image", "input_rate": "0.000002", "output_rate": "0.000008",
                                     "image_rate": "0.01"},
    ("demo", "echo"): {"input_rate": "0", "output_rate": "0.01"},
}


@pytest.fixture(scope="module")
def billing_env(fake: FakeUpstream) -> dict[str, str]:
    return {**upstream_env(fake.base_url), "AIHUB_BILLING": "on", "AIHUB_TOPUP_URL": "https://example.test/top-up"}


def start_priced(tmp: Path, env: dict[str, str]) -> Gateway:
    """A gateway with billing on and the RATES set through the admin API."""
    gateway = start_gateway(tmp, env)
    with gateway.admin() as api:
        for (provider, model), rate in RATES.items():
            body = {"provider": provider, "model": model, **{k: (float(v) if k != "type" else v) for k, v in rate.items()}}
            assert api.post("/admin/model-rates", json=body).status_code == 201
    return gateway


@pytest.fixture(scope="module")
def gw(billing_env, tmp_path_factory) -> Iterator[Gateway]:
    gateway = start_priced(tmp_path_factory.mktemp("billing"), billing_env)
    yield gateway
    gateway.stop()


@pytest.fixture
def api(gw: Gateway) -> Iterator[httpx.Client]:
    with gw.admin(timeout=30) as c:
        yield c


def new_key(api: httpx.Client, credits: float, **limits) -> dict:
    return create_key(api, name="billed", credits=credits, **limits)


def credits_of(gw: Gateway, key: dict) -> dict:
    return httpx.get(gw.url + "/v1/credits", headers={"authorization": f"Bearer {key['key']}"}).json()


def client(gw: Gateway, key: dict) -> openai.OpenAI:
    return gw.openai(key["key"])


def expected(provider: str, model: str, **tokens: int) -> Decimal:
    """Credits computed here, independently: tokens x the rates above, in exact decimals."""
    rate = {k: Decimal(v) for k, v in RATES[(provider, model)].items() if k != "type"}
    return (tokens.get("input", 0) * rate["input_rate"] + tokens.get("output", 0) * rate["output_rate"]
            + tokens.get("cache_read", 0) * rate.get("cache_read_rate", rate["input_rate"])
            + tokens.get("cache_write", 0) * rate.get("cache_write_rate", rate["input_rate"])
            + tokens.get("images", 0) * rate.get("image_rate", Decimal(0)))


def charged(api: httpx.Client, key: dict) -> tuple[Decimal, dict]:
    (call,) = calls_of(api, key["account_id"])
    ledger = api.get(f"/admin/accounts/{key['account_id']}/ledger").json()["data"]
    charge = [e for e in ledger if e["kind"] == "charge"]
    assert [e["request_id"] for e in charge] == [call["request_id"]]
    assert Decimal(str(charge[0]["amount"])) == -Decimal(str(call["credits"]))
    return Decimal(str(call["credits"])), call


# -- accuracy, per provider ---------------------------------------------------------------

def test_openai_charge_is_exact_with_cached_and_reasoning_tokens(api, gw, fake):
    (interaction,) = fake.add_cassette("chat-detailed-usage")
    usage = orjson.loads(interaction.response_body)["usage"]
    key = new_key(api, 10)
    client(gw, key).chat.completions.create(**{**interaction.request_json, "model": "openai/gpt-5-nano"})
    cached = usage["prompt_tokens_details"]["cached_tokens"]
    amount, _ = charged(api, key)
    assert amount == expected("openai", "gpt-5-nano", input=usage["prompt_tokens"] - cached, cache_read=cached,
                              output=usage["completion_tokens"])  # reasoning tokens are inside completion
    assert Decimal(str(credits_of(gw, key)["balance"])) == 10 - amount


def test_anthropic_charge_prices_cache_reads_and_writes_apart(api, gw, fake):
    fake.add_rule(fa.MessagesRule(fa.message(fa.text("ok"), tokens=fa.usage(100, 20, cache_write=300, cache_read=2000))))
    key = new_key(api, 10)
    client(gw, key).chat.completions.create(model="anthropic/claude-sonnet-4-5", max_tokens=100,
                                            messages=[{"role": "user", "content": "hi"}])
    amount, call = charged(api, key)
    assert (call["prompt_tokens"], call["cache_write_tokens"], call["cache_read_tokens"]) == (100, 300, 2000)
    assert amount == expected("anthropic", "claude-sonnet-4-5", input=100, cache_write=300, cache_read=2000, output=20)


def test_gemini_charge_counts_thoughts_as_output_and_cached_apart(api, gw, fake):
    fake.route("POST", fg.path("gemini-2.5-flash", "generateContent"),
               json=fg.response([fg.candidate([fg.text("ok")])], fg.usage(100, 20, cached=60, thoughts=30)))
    key = new_key(api, 10)
    client(gw, key).chat.completions.create(model="google/gemini-2.5-flash", max_tokens=100,
                                            messages=[{"role": "user", "content": "hi"}])
    amount, call = charged(api, key)
    assert amount == expected("google", "gemini-2.5-flash", input=40, cache_read=60, output=50)
    assert call["reasoning_tokens"] == 30


def test_image_charge_per_image_plus_tokens(api, gw, fake):
    (interaction,) = fake.add_cassette("image-generation-basic")
    body = orjson.loads(interaction.response_body)
    key = new_key(api, 10)
    client(gw, key).images.generate(**interaction.request_json)
    amount, call = charged(api, key)
    usage = body.get("usage") or {}  # this recording carries none: the images alone are priced
    assert call["images"] == len(body["data"]) >= 1
    assert amount == expected("openai", "gpt-image-1-mini", input=usage.get("input_tokens", 0),
                              output=usage.get("output_tokens", 0), images=len(body["data"])) > 0


# -- refusals and failures ---------------------------------------------------------------------

def test_no_rate_is_a_clear_400_and_no_upstream_call(api, gw, fake):
    key = new_key(api, 10)
    with pytest.raises(openai.BadRequestError) as info:
        client(gw, key).chat.completions.create(model="openai/gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert info.value.body["code"] == "model_not_priced" and fake.requests == []


def test_insufficient_credits_is_402_with_the_top_up_link(api, gw):
    key = new_key(api, 0.05)  # demo/echo may cost up to 4096 x 0.01 without max_tokens
    response = httpx.post(gw.url + "/v1/chat/completions", headers={"authorization": f"Bearer {key['key']}"},
                          json={"model": "demo/echo", "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 402
    error = response.json()["error"]
    assert error["code"] == "insufficient_credits" and "https://example.test/top-up" in error["message"]
    (call,) = calls_of(api, key["account_id"])
    assert (call["status"], call["http_status"], call["credits"]) == ("failed", 402, 0)
    assert credits_of(gw, key)["balance"] == 0.05


def test_failed_call_costs_nothing_and_releases_its_hold(api, gw, fake):
    fake.route("POST", "/v1/chat/completions", status=500, json={"error": {"message": "down"}})
    key = new_key(api, 10)
    with pytest.raises(openai.APIError):
        client(gw, key).chat.completions.create(model="openai/gpt-5-nano", messages=[{"role": "user", "content": "x"}])
    mine = credits_of(gw, key)
    assert (mine["balance"], mine["reserved"], mine["used"]) == (10, 0, 0)


def test_stream_cut_by_the_client_is_charged_what_the_provider_reported(api, gw, fake):
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-5-nano",
             "choices": [{"index": 0, "delta": {"content": "w "}, "finish_reason": None}]}
    final = {**chunk, "choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 42, "total_tokens": 53}}
    fake.route("POST", "/v1/chat/completions", sse=[chunk] * 5 + [final, "[DONE]"], chunk_delay=0.1)
    key = new_key(api, 10)
    with httpx.stream("POST", gw.url + "/v1/chat/completions", headers={"authorization": f"Bearer {key['key']}"},
                      json={"model": "openai/gpt-5-nano", "stream": True, "max_tokens": 100,
                            "messages": [{"role": "user", "content": "x"}]}) as response:
        next(response.iter_lines())
    deadline = time.monotonic() + 5
    while not calls_of(api, key["account_id"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    amount, _ = charged(api, key)
    assert amount == expected("openai", "gpt-5-nano", input=11, output=42)


# -- concurrency ---------------------------------------------------------------------------

ECHO = {"model": "demo/echo", "max_tokens": 10, "messages": [{"role": "user", "content": "same words"}]}


def _hammer(urls: list[str], key: str, calls: int) -> list[int]:
    def one(n: int) -> int:
        return httpx.post(urls[n % len(urls)] + "/v1/chat/completions", json=ECHO, timeout=30,
                          headers={"authorization": f"Bearer {key}"}).status_code

    with ThreadPoolExecutor(calls) as pool:
        return list(pool.map(one, range(calls)))


def _check_money(api: httpx.Client, gw_url: str, key: dict, initial: Decimal, statuses: list[int]) -> None:
    hold = Decimal("0.01") * 10  # max_tokens x output rate; demo input costs 0
    cost = Decimal("0.01") * 9  # the demo answer to ECHO is 9 words
    ok = statuses.count(200)
    # Each call holds 0.1 of an account of 1.0: ten fit at once; as calls settle at 0.09 the
    # freed 0.01s let an eleventh through at most, never a twelfth.
    assert 10 <= ok <= 11 and ok * cost <= initial
    assert set(statuses) <= {200, 402}
    found = api.get(f"/admin/accounts/{key['account_id']}").json()
    assert Decimal(str(found["balance"])) >= 0 and found["reserved"] == 0
    charges = [e for e in api.get(f"/admin/accounts/{key['account_id']}/ledger?limit=1000").json()["data"]
               if e["kind"] == "charge"]
    assert len(charges) == ok
    assert sum(-Decimal(str(e["amount"])) for e in charges) == initial - Decimal(str(found["balance"]))
    assert hold > cost


def test_fifty_threads_cannot_overspend(api, gw):
    key = new_key(api, 1)
    statuses = _hammer([gw.url], key["key"], 50)
    _check_money(api, gw.url, key, Decimal(1), statuses)


def test_four_processes_on_one_database_cannot_overspend(api, gw, billing_env, tmp_path):
    key = new_key(api, 1)
    others = [start_gateway(tmp_path, billing_env, db_path=gw.db_path) for _ in range(3)]
    try:
        statuses = _hammer([gw.url] + [o.url for o in others], key["key"], 50)
    finally:
        for other in others:
            other.stop()
    _check_money(api, gw.url, key, Decimal(1), statuses)


# -- limits --------------------------------------------------------------------------------

def _fresh_minute() -> None:
    """Counters are per calendar minute: do not start a limit test in its last seconds."""
    left = 60 - time.time() % 60
    if left < 5:
        time.sleep(left + 0.1)


def _chat(gw: Gateway, key: dict) -> httpx.Response:
    return httpx.post(gw.url + "/v1/chat/completions", json=ECHO, headers={"authorization": f"Bearer {key['key']}"})


def test_requests_per_minute(api, gw):
    _fresh_minute()
    key = new_key(api, 10, rpm=3)
    answers = [_chat(gw, key) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["x-ratelimit-limit-requests"] == "3"
    assert answers[1].headers["x-ratelimit-remaining-requests"] == "1"
    refused = answers[3]
    assert refused.json()["error"]["code"] == "rate_limit_requests"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"


def test_tokens_per_minute(api, gw):
    _fresh_minute()
    key = new_key(api, 10, tpm=5)
    assert _chat(gw, key).status_code == 200  # 2 prompt + 9 completion tokens: over the limit now
    refused = _chat(gw, key)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limit_tokens"
    assert refused.headers["x-ratelimit-remaining-tokens"] == "0"


def test_daily_spend_cap(api, gw):
    key = new_key(api, 10)
    assert api.patch(f"/admin/keys/{key['id']}", json={"daily_cap": 0.15}).json()["daily_cap"] == 0.15
    assert _chat(gw, key).status_code == 200  # holds 0.1, spends 0.09
    refused = _chat(gw, key)  # 0.09 spent + 0.1 held > 0.15
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "spend_cap_exceeded"
    assert int(refused.headers["retry-after"]) >= 1


# -- credits, rates, catalogue --------------------------------------------------------------------

def test_grants_topups_refunds_and_the_ledger(api, gw):
    key = new_key(api, 1)
    for change in ({"amount": 2, "kind": "topup"}, {"amount": 0.5, "kind": "refund", "note": "sorry"},
                   {"amount": 3, "kind": "grant", "expires_at": int(time.time() * 1000) + 3_600_000}):
        assert api.post(f"/admin/accounts/{key['account_id']}/credits", json=change).status_code == 201
    assert api.post(f"/admin/accounts/{key['account_id']}/credits",
                    json={"amount": 1, "kind": "topup", "expires_at": 1}).status_code == 400
    assert _chat(gw, key).status_code == 200
    mine = credits_of(gw, key)
    assert (mine["granted"], mine["reserved"]) == (6.5, 0)
    assert Decimal(str(mine["balance"])) == Decimal("6.5") - Decimal(str(mine["used"]))
    ledger = httpx.get(gw.url + "/v1/credits/ledger", headers={"authorization": f"Bearer {key['key']}"}).json()["data"]
    assert [e["kind"] for e in ledger] == ["charge", "grant", "refund", "topup", "grant"]


def test_models_lists_priced_models_with_their_rates(api, gw):
    key = new_key(api, 1)
    models = {m.id: m for m in client(gw, key).models.list()}
    assert set(models) >= {"demo/echo", "openai/gpt-5-nano", "anthropic/claude-sonnet-4-5"}
    assert "openai/gpt-4o" not in models  # no rate, not for sale
    assert models["anthropic/claude-sonnet-4-5"].model_extra["pricing"]["cache_write_rate"] == 0.00000375
    # beside its price, the catalogue's metadata, in the list and from retrieve
    listed = models["anthropic/claude-sonnet-4-5"].model_extra
    got = client(gw, key).models.retrieve("anthropic/claude-sonnet-4-5").model_extra
    assert listed["capabilities"]["vision"] is got["capabilities"]["vision"] is True
    assert listed["context_window"] == got["context_window"] > 0 and got["pricing"] == listed["pricing"]


def test_rates_admin_and_margin_mode(api, gw):
    made = api.post("/admin/model-rates", json={"provider": "openai", "model": "gpt-4o-mini", "input_rate": 1e-7,
                                                "output_rate": 2e-7})
    assert made.status_code == 201
    rate = made.json()
    assert rate["input_cost_usd"] == 1.5e-07 and rate["metadata"]["max_output_tokens"] == 16384  # from the catalogue
    preview = api.post("/admin/model-rates/bulk", json={"margin": 0.2, "credit_price": 0.001, "provider": "openai",
                                                        "models": ["gpt-4o-mini"], "dry_run": True}).json()
    assert preview["count"] == 1 and preview["data"][0]["after"]["input_rate"] == pytest.approx(1.8e-4)
    assert api.get("/admin/model-rates", params={"search": "gpt-4o-mini"}).json()["data"][0]["input_rate"] == 1e-7
    api.post("/admin/model-rates/bulk", json={"margin": 0.2, "credit_price": 0.001, "provider": "openai",
                                              "models": ["gpt-4o-mini"], "dry_run": False})
    applied = api.get("/admin/model-rates", params={"search": "gpt-4o-mini"}).json()["data"][0]
    assert (applied["input_rate"], applied["output_rate"]) == (0.00018, 0.00072)
    deprecated = api.patch(f"/admin/model-rates/{applied['id']}", json={"deprecated": True}).json()
    assert deprecated["deprecated"] is True
    key = new_key(api, 1)
    with pytest.raises(openai.BadRequestError):  # a deprecated rate sells nothing
        client(gw, key).chat.completions.create(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    catalogue = api.post("/admin/model-rates/bulk", json={"margin": 0.5, "credit_price": 1, "provider": "anthropic",
                                                          "source": "catalogue", "dry_run": True}).json()
    assert catalogue["count"] >= 5 and all(c["provider"] == "anthropic" for c in catalogue["data"])
