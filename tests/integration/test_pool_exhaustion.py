"""Issue 10, "Any key can stall everyone", through the real gateway (`aihub serve`).

About 1,000 streamed calls with a non-string text part once left as many upstream responses
open and exhausted the shared pool: every later upstream call of every user hung. Here the pool
is made small (10 connections) so a single leak per call would exhaust it within the first few
calls; after 1,000 such calls a normal call must still be answered at once. And when the pool
really is full, a call gets a quick 503 instead of waiting behind everyone.
"""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import anthropic as fa
from tests.fakes import gemini as fg
from tests.fakes.upstream import FakeUpstream, anthropic_echo_rule
from tests.integration.conftest import calls_of
from tests.support.gateway import Gateway, create_key, start_gateway, upstream_env

CALLS = 1000
CONCURRENCY = 16
NUMBER_PART = [{"type": "text", "text": 123}]  # the reported trigger
# Malformed bodies that once reached each adapter family and failed with a 500 after (or before)
# the upstream response was opened, leaving it open for good; the API edge now refuses them as
# the client's 400 before any upstream call (the adapters' own guards are tested in process, in
# test_upstream_release.py), and a model id a header cannot carry still streams.
MALFORMED: list[tuple[str, Any, int]] = [
    ("openai/gpt-4o-mini", NUMBER_PART, 400),
    (f"anthropic/{fa.MODEL}", NUMBER_PART, 400),
    (f"anthropic/{fa.MODEL}", [{"type": "text"}], 400),
    ("google/gemini-2.5-flash", NUMBER_PART, 400),
    ("google/gemini-2.5-flash", [{"type": "input_audio", "input_audio": "wav"}], 400),
    ("openai/gpt-4o-\u20ac", "Hi", 200),  # echoed in a response header that cannot carry it
]


def start(tmp: Path, fake: FakeUpstream, **env: str) -> Gateway:
    return start_gateway(tmp, {**upstream_env(fake.base_url), **env})


@pytest.fixture
def small_pool(fake: FakeUpstream, tmp_path: Path) -> Iterator[Gateway]:
    gateway = start(tmp_path, fake, AIHUB_POOL_MAX_CONNECTIONS="10", AIHUB_POOL_TIMEOUT="2")
    yield gateway
    gateway.stop()


def chat(model: str, content: Any) -> dict[str, Any]:
    return {"model": model, "stream": True, "messages": [{"role": "user", "content": content}]}


async def malformed_calls(url: str, key: str) -> list[tuple[int, int]]:
    """CALLS streamed calls, CONCURRENCY at a time, each read to its end: (expected, got) statuses."""
    statuses: list[tuple[int, int]] = []
    queue = [MALFORMED[i % len(MALFORMED)] for i in range(CALLS)]
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, headers={"authorization": f"Bearer {key}"}, limits=limits,
                                 timeout=10) as client:

        async def worker() -> None:
            while queue:
                model, content, expected = queue.pop()
                async with client.stream("POST", "/v1/chat/completions", json=chat(model, content)) as response:
                    await response.aread()
                    statuses.append((expected, response.status_code))

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return statuses


def program(fake: FakeUpstream) -> None:
    fake.add_chat_echo()
    fake.add_rule(anthropic_echo_rule(("Hello", " there")))
    fake.route("POST", fg.path("gemini-2.5-flash", "streamGenerateContent"),
               sse=fg.stream([[fg.text("Hello")], [fg.text(" there")]], fg.usage(3, 2)))


@pytest.mark.timeout(60)  # a leak makes every call wait the pool timeout: fail, do not crawl
def test_a_thousand_malformed_streams_leave_the_pool_usable(fake, small_pool):
    program(fake)
    with small_pool.admin() as admin:
        user = create_key(admin)
    started = time.monotonic()
    statuses = asyncio.run(malformed_calls(small_pool.url, user["key"]))
    assert len(statuses) == CALLS
    wrong = [pair for pair in statuses if pair[0] != pair[1]]
    assert not wrong, {pair: wrong.count(pair) for pair in set(wrong)}
    elapsed = time.monotonic() - started

    started = time.monotonic()
    answer = small_pool.openai(user["key"]).with_options(timeout=2).chat.completions.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in answer if chunk.choices)
    assert text and time.monotonic() - started < 2, f"the pool is stuck after {elapsed:.1f} s of malformed calls"


def test_a_full_pool_gives_the_next_call_a_quick_503(fake, tmp_path):
    """Pool of one, held by a call whose upstream hangs: the next call is refused within the
    pool timeout, not retried elsewhere, recorded as failed; once the pool frees, calls pass."""
    fake.add_chat_echo()
    fake.route("POST", "/v1/chat/completions", fault="hang", times=1)  # newest first: the first call hangs
    gateway = start(tmp_path, fake, AIHUB_POOL_MAX_CONNECTIONS="1", AIHUB_POOL_TIMEOUT="1", AIHUB_READ_TIMEOUT="3")
    try:
        with gateway.admin() as admin:
            user = create_key(admin)
            headers = {"authorization": f"Bearer {user['key']}"}
            body = chat("openai/gpt-4o-mini", "Hi")
            hung: list[httpx.Response] = []
            holder = threading.Thread(target=lambda: hung.append(
                httpx.post(gateway.url + "/v1/chat/completions", json=body, headers=headers, timeout=10)))
            holder.start()
            deadline = time.monotonic() + 5
            while not fake.requests and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(fake.requests) == 1

            started = time.monotonic()
            refused = httpx.post(gateway.url + "/v1/chat/completions", json=body, headers=headers, timeout=10)
            waited = time.monotonic() - started
            assert refused.status_code == 503, refused.text
            assert refused.json()["error"]["code"] == "gateway_busy"
            assert refused.headers["retry-after"] == "1"
            assert 0.9 < waited < 2.5  # the pool timeout, once: not retried on another credential
            assert len(fake.requests) == 1

            holder.join(10)
            assert hung[0].status_code == 504  # the hanging upstream, ended by the read timeout
            ok = httpx.post(gateway.url + "/v1/chat/completions", json={**body, "stream": False}, headers=headers,
                            timeout=2)
            assert ok.status_code == 200, ok.text
            records = calls_of(admin, user["account_id"])
            busy = [r for r in records if r.get("error_code") == "gateway_busy"]
            assert len(busy) == 1 and busy[0]["status"] == "failed" and busy[0]["credits"] == 0
    finally:
        gateway.stop()
