"""The processes under test: fake upstreams, gateways in front of them, the load generator."""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.bench.client import build_request
from tests.support.gateway import (
    ROOT,
    UPSTREAM_KEYS,
    Gateway,
    start_gateway,
    upstream_env,
)

HOST = "127.0.0.1"
# Gap between SSE events of the fake upstream: first-token time then shows whether the
# gateway relays the first event at once or waits for more. Non-streamed answers ignore it.
CHUNK_DELAY_S = 0.002


@dataclass
class Upstream:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        stop_process(self.process)


@dataclass
class GatewayUnderTest:
    label: str  # e.g. "WAL"
    gateway: Gateway
    user_key: str

    @property
    def port(self) -> int:
        return int(self.gateway.url.rsplit(":", 1)[1])

    @property
    def pid(self) -> int:
        return self.gateway.process.pid


def stop_process(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_upstream(stack: ExitStack, chunk_delay: float = CHUNK_DELAY_S, extra_args: Sequence[str] = ()) -> Upstream:
    """`python -m tests.fakes.upstream --chat-echo [extra_args]` in its own process; waits for READY <port>."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.upstream", "--port", "0", "--chat-echo", "--chunk-delay", str(chunk_delay),
         *extra_args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    stack.callback(stop_process, process)
    assert process.stdout is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline().decode()
            if line.startswith("READY "):
                return Upstream(int(line.split()[1]), process)
            if not line:
                break
    raise RuntimeError("fake upstream did not print READY")


def start_gateway_process(stack: ExitStack, tmp: Path, upstream: Upstream, label: str, journal: str,
                          env: dict[str, str] | None = None, workers: int = 1) -> GatewayUnderTest:
    """A gateway with its own database (journal mode `journal`), and a fresh user key on it.
    Every provider points at `upstream` (tests/support/gateway.py: upstream_env) unless `env` says otherwise."""
    folder = tmp / label.lower()
    folder.mkdir(parents=True, exist_ok=True)
    gateway = start_gateway(folder, {**upstream_env(upstream.base_url), "AIHUB_DB_JOURNAL": journal, **(env or {})},
                            workers=workers)
    stack.callback(gateway.stop)
    reply = httpx.post(gateway.url + "/admin/keys", json={"name": "bench"},
                       headers={"authorization": f"Bearer {gateway.admin_key}"}, timeout=10)
    reply.raise_for_status()
    return GatewayUnderTest(label, gateway, reply.json()["key"])


def admin(gw: GatewayUnderTest, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One admin API call on a gateway; its JSON answer."""
    reply = httpx.request(method, gw.gateway.url + path, json=body, timeout=10,
                          headers={"authorization": f"Bearer {gw.gateway.admin_key}"})
    if reply.status_code >= 300:
        raise RuntimeError(f"{method} {path} answered {reply.status_code}: {reply.text[:500]}")
    return reply.json()


def chat_body(model: str, stream: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "Say hello."}]}
    if stream:
        body["stream"] = True
    return body


def direct_target(upstream: Upstream, stream: bool = False, name: str = "direct") -> dict[str, Any]:
    """The request a gateway would send upstream, sent by the client itself."""
    request = build_request(HOST, upstream.port, "/v1/chat/completions", chat_body("gpt-4o-mini", stream),
                            UPSTREAM_KEYS["OPENAI_API_KEY"])
    return {"name": name, "host": HOST, "port": upstream.port, "request": request.decode("latin-1")}


def direct_anthropic_target(upstream: Upstream, name: str = "direct anthropic") -> dict[str, Any]:
    """The streamed Messages request the gateway sends for anthropic/claude-sonnet-4-5, sent by the client."""
    body = {"model": "claude-sonnet-4-5", "max_tokens": 64000, "messages": [{"role": "user", "content": "Say hello."}],
            "stream": True}
    request = build_request(HOST, upstream.port, "/v1/messages", body, headers={
        "x-api-key": UPSTREAM_KEYS["ANTHROPIC_API_KEY"], "anthropic-version": "2023-06-01"})
    return {"name": name, "host": HOST, "port": upstream.port, "request": request.decode("latin-1")}


def gateway_target(gw: GatewayUnderTest, model: str = "openai/gpt-4o-mini", stream: bool = False,
                   name: str | None = None) -> dict[str, Any]:
    request = build_request(HOST, gw.port, "/v1/chat/completions", chat_body(model, stream), gw.user_key)
    return {"name": name or gw.label, "host": HOST, "port": gw.port, "request": request.decode("latin-1")}


def run_loadgen(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement in a fresh load-generator process."""
    done = subprocess.run([sys.executable, "-m", "tests.bench.loadgen"], input=json.dumps(spec).encode(),
                          cwd=ROOT, capture_output=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr.decode(errors='replace')}")
    return json.loads(done.stdout)


def closed_connections(port: int) -> set[tuple[str, str]]:
    """TCP connections to/from `port` now in TIME_WAIT, i.e. recently closed (Linux /proc/net/tcp),
    as (local, remote) address pairs.

    The pairs new after a run are the upstream connections the gateway opened and dropped: with
    working keep-alive there are next to none however many calls were made. (A set, not a count:
    connections closed by earlier runs leave TIME_WAIT after 60 s, which would make a count drop.)
    """
    suffix = f":{port:04X}"
    found = set()
    with open("/proc/net/tcp") as f:
        next(f)  # header
        for line in f:
            fields = line.split()
            if fields[3] == "06" and (fields[1].endswith(suffix) or fields[2].endswith(suffix)):
                found.add((fields[1], fields[2]))
    return found


def bench_env() -> dict[str, str]:
    """Environment for child Pythons: the parent's, minus anything that would steer the gateway."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AIHUB_", "OPENAI_", "ANTHROPIC_", "GEMINI_"))}
