"""Start the real gateway (`aihub serve`) as its own process on a loopback port."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai

ROOT = Path(__file__).resolve().parents[2]
ADMIN_KEY = "test-admin-key-0123456789abcdef-0123456789"
TEST_SECRET = "test-master-secret-0123456789-0123456789"
UPSTREAM_KEYS = {
    "OPENAI_API_KEY": "sk-test-openai-SECRET-0123456789",
    "DEEPSEEK_API_KEY": "sk-test-deepseek-SECRET-0123456789",
    "XAI_API_KEY": "xai-test-SECRET-0123456789",
    "ANTHROPIC_API_KEY": "sk-ant-test-SECRET-0123456789",
    "GEMINI_API_KEY": "gemini-test-SECRET-0123456789",
    "IDEOGRAM_API_KEY": "ideogram-test-SECRET-0123456789",
    "AWS_ACCESS_KEY_ID": "AKIATESTSECRET0123456",
    "AWS_SECRET_ACCESS_KEY": "aws-test-SECRET-0123456789abcdefghijklmnop",
}


# AIHUB_SNAPSHOT_REFRESH_S's default, which test gateways keep: a change made through one process
# reaches another within it. The slack covers one poll and a loaded machine.
SNAPSHOT_REFRESH_S = 1.0
PROPAGATION_SLACK_S = 1.0


def seen_within_refresh(check: Callable[[], bool], since: float | None = None) -> float:
    """Poll `check` until it holds and return the seconds it took from `since` (default: now,
    just after the change); fails once the refresh interval and its slack have passed."""
    since = time.monotonic() if since is None else since
    bound = SNAPSHOT_REFRESH_S + PROPAGATION_SLACK_S
    while True:
        if check():
            return time.monotonic() - since
        assert time.monotonic() - since < bound, f"not seen by another process within {bound} s"
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def upstream_env(base_url: str) -> dict[str, str]:
    """Point every provider at one fake upstream (each has its own paths on it)."""
    return {
        **UPSTREAM_KEYS,
        "OPENAI_BASE_URL": base_url + "/v1",
        "DEEPSEEK_BASE_URL": base_url + "/v1",
        "XAI_BASE_URL": base_url + "/v1",
        "ANTHROPIC_BASE_URL": base_url,
        "GEMINI_BASE_URL": base_url,
        "IDEOGRAM_BASE_URL": base_url,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": base_url,
        "AWS_REGION": "us-east-1",
    }


@dataclass
class Gateway:
    url: str
    admin_key: str
    db_path: Path
    process: subprocess.Popen
    log_path: Path

    def admin(self, timeout: float = 20) -> httpx.Client:
        """An HTTP client of the admin API (use it as a context manager)."""
        return httpx.Client(base_url=self.url, headers={"authorization": f"Bearer {self.admin_key}"}, timeout=timeout)

    def openai(self, key: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url + "/v1", api_key=key, max_retries=0, timeout=20)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def run_cli(db_path: Path, *args: str, cwd: Path = ROOT, stdin: str = "") -> subprocess.CompletedProcess:
    """The `aihub` CLI in a process of its own, on a gateway's database."""
    env = {"AIHUB_DB": str(db_path), "AIHUB_SECRET": TEST_SECRET, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "chalicelib.cli", *args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=60, check=False)


def create_key(admin: httpx.Client, **fields: object) -> dict:
    """A new key (and account) through the admin API; the response, raw key included."""
    created = admin.post("/admin/keys", json={"name": "test user", **fields})
    assert created.status_code == 201, created.text
    return created.json()


def start_gateway(tmp: Path, env: dict[str, str], *, port: int | None = None, db_path: Path | None = None,
                  workers: int = 1) -> Gateway:
    port = port or free_port()
    db_path = db_path or tmp / "aihub.db"
    log_path = tmp / f"gateway-{port}.log"
    full_env = {
        # Nothing from the developer's own environment may reach a real provider.
        **{k: v for k, v in os.environ.items()
           if not k.startswith(("AIHUB_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "AWS_", "DEEPSEEK_", "XAI_",
                                "OPENROUTER_", "OLLAMA_", "DOUBAO_", "POE_", "IDEOGRAM_"))},
        "AIHUB_DB": str(db_path),
        "AIHUB_ADMIN_KEY": ADMIN_KEY,
        "AIHUB_PORT": str(port),
        "AIHUB_READ_TIMEOUT": "3",
        "AIHUB_SECRET": TEST_SECRET,
        **env,
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "chalicelib.cli", "serve", "--workers", str(workers), "--log-level", "info"],
            cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(url + "/health", timeout=0.5).status_code == 200:
                return Gateway(url, ADMIN_KEY, db_path, process, log_path)
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"gateway did not start:\n{log_path.read_text()}")
