"""The streaming function, run the way the Lambda Web Adapter runs it.

The bundle the stack deploys is unpacked as Lambda unpacks it (modes kept) into a task root,
and started as the adapter's /opt/bootstrap does: `exec $LAMBDA_TASK_ROOT/$_HANDLER` with the
function's environment from the template, under a bare Python 3.11 that has no package of its
own (as the managed runtime has none of ours). Then: the readiness check on /health, and a
streamed chat whose chunks arrive one by one.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy.conftest import Synthesis
from tests.support.gateway import ADMIN_KEY, TEST_SECRET, free_port

DEMO_DELAY_MS = 40


def _unzip_like_lambda(bundle: zipfile.ZipFile, root: Path) -> None:
    for info in bundle.infolist():
        target = root / info.filename
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(bundle.read(info))
        mode = (info.external_attr >> 16) & 0o777
        if mode:
            target.chmod(mode)


@pytest.fixture(scope="module")
def stream_function(prod: Synthesis, tmp_path_factory: pytest.TempPathFactory,
                    ) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    tmp = tmp_path_factory.mktemp("stream")
    _, fn = prod.one("AWS::Lambda::Function", Handler="run.sh")
    task_root = tmp / "task"
    with prod.asset_zip(fn) as bundle:
        _unzip_like_lambda(bundle, task_root)
    runtime = tmp / "runtime"  # a bare interpreter: everything else must come from the bundle
    venv.EnvBuilder(with_pip=False, symlinks=True).create(runtime)
    port = free_port()
    env = {
        # A value that refers to a resource of the stack (the S3 bucket) has nothing to name
        # here: without it, hosted files go to the local folder.
        **{k: v for k, v in fn["Properties"]["Environment"]["Variables"].items() if isinstance(v, str)},
        "PATH": f"{runtime / 'bin'}:/usr/bin:/bin",
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": fn["Properties"]["Handler"],
        "AWS_LWA_PORT": str(port),
        # What EFS and Secrets Manager provide on AWS:
        "AIHUB_DB": str(tmp / "efs" / "aihub.db"),
        "AIHUB_SECRET": TEST_SECRET,
        "AIHUB_ADMIN_KEY": ADMIN_KEY,
        "AIHUB_DEMO_DELAY_MS": str(DEMO_DELAY_MS),
        "AIHUB_LOG_LEVEL": "info",
        # The queued mode's queue and table are resources of the stack too: this test is about
        # the bundle and the adapter, so the call is settled in process (the queued path has its
        # own tests against a DynamoDB/SQS endpoint on loopback).
        "AIHUB_SETTLEMENTS": "local",
        "AIHUB_HOT_STATE": "sqlite",
    }
    log_path = tmp / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115 (open for the server's lifetime, closed below)
    bootstrap = 'exec -- "${LAMBDA_TASK_ROOT}/${_HANDLER}"'  # the adapter layer's /opt/bootstrap
    process = subprocess.Popen(["bash", "-c", bootstrap], env=env, stdout=log, stderr=subprocess.STDOUT,
                               cwd=tmp, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        yield url, process, log_path
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # Lambda's shutdown
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


def _readiness_check(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> float:
    """Poll /health as the adapter does (every 10 ms) until the app answers; seconds taken."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        assert process.poll() is None, "the start script exited"
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return time.monotonic() - start
        except httpx.TransportError:
            time.sleep(0.01)
    raise AssertionError("the server did not become ready")


def test_ready_then_streams_chunk_by_chunk(stream_function):
    url, process, log = stream_function
    ready_after = _readiness_check(url, process)
    print(f"\nstream function ready after {ready_after * 1000:.0f} ms (uvicorn + app import)", file=sys.stderr)

    words = "one two three four five six"
    ask = {"model": "demo/echo", "stream": True, "messages": [{"role": "user", "content": words}]}
    arrivals: list[float] = []
    body = b""
    with httpx.Client(timeout=30) as http, http.stream(
            "POST", url + "/v1/chat/completions", json=ask,
            headers={"authorization": f"Bearer {ADMIN_KEY}"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        request_id = response.headers["x-request-id"]
        start = time.monotonic()
        for chunk in response.iter_raw():
            arrivals.append(time.monotonic() - start)
            body += chunk
    events = [line[6:] for line in body.decode().splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]" and all(w in body.decode() for w in words.split())
    # Incremental: the frames arrive spread over the demo model's pauses, not in one piece.
    assert len(arrivals) >= 4 and arrivals[-1] - arrivals[0] >= 3 * DEMO_DELAY_MS / 1000

    calls = httpx.get(url + "/admin/calls", params={"limit": 5}, timeout=10,
                      headers={"authorization": f"Bearer {ADMIN_KEY}"}).json()["data"]
    assert request_id in [c["request_id"] for c in calls]

    # Lambda stops an environment with SIGTERM; uvicorn finishes, then re-raises the signal.
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in log.read_text()
