"""Fixtures of the deployment tests: one `chalice package` and one CDK synthesis per stage, per session.

Both run offline: pip is told to use no index and every HTTP(S) request goes to a closed
loopback port. `make test` fetched the Lambda-platform wheels beforehand (the `$(DEPLOY)`
step); run from a bare checkout, the first fixture fetches them once, online.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# jsii (the CDK's Python-to-JavaScript bridge) warns in capitals on Node 20; the warning is
# documented in docs/DEPLOY.md and says nothing about this project.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

CLOSED_PORT = "http://127.0.0.1:9"
# chalice package builds a botocore client (to name the partition); no instance metadata lookups.
OFFLINE = {"PIP_NO_INDEX": "1", "AWS_EC2_METADATA_DISABLED": "true", "HTTP_PROXY": CLOSED_PORT, "HTTPS_PROXY": CLOSED_PORT,
           "http_proxy": CLOSED_PORT, "https_proxy": CLOSED_PORT, "NO_PROXY": "", "no_proxy": ""}


def chalice_package(stage: str, out: Path, *, offline: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", **(OFFLINE if offline else {})}
    return subprocess.run([str(Path(sys.executable).parent / "chalice"), "package", "--stage", stage, str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="session")
def prod_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`chalice package --stage prod` run offline: deployment.zip and sam.json."""
    out = tmp_path_factory.mktemp("chalice") / "prod"
    done = chalice_package("prod", out)
    if done.returncode != 0:  # a bare checkout: fetch the Lambda wheels once, then prove it offline
        chalice_package("prod", tmp_path_factory.mktemp("warm") / "prod", offline=False)
        done = chalice_package("prod", out)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@dataclass
class Synthesis:
    stage: str
    template: Any  # aws_cdk.assertions.Template
    json: dict[str, Any]
    outdir: Path

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.json["Resources"].items() if v["Type"] == type_}

    def one(self, type_: str, **properties: Any) -> tuple[str, dict[str, Any]]:
        found = [(k, v) for k, v in self.resources(type_).items()
                 if all(v["Properties"].get(p) == want for p, want in properties.items())]
        assert len(found) == 1, f"{len(found)} {type_} with {properties}"
        return found[0]

    def asset_zip(self, function: dict[str, Any]) -> zipfile.ZipFile:
        manifest = json.loads((self.outdir / f"{self.stage}.assets.json").read_text())
        key = function["Properties"].get("Code", function["Properties"].get("CodeUri"))
        key = key.get("S3Key") or key.get("Key")
        (source,) = [a["source"]["path"] for a in manifest["files"].values()
                     if any(d["objectKey"] == key for d in a["destinations"].values())]
        return zipfile.ZipFile(self.outdir / source)


def synthesise(stage: str, workdir: Path, context: dict[str, Any] | None = None) -> Synthesis:
    import aws_cdk as cdk
    from aws_cdk import assertions

    from infra.app import PROJECT, build

    assert PROJECT == ROOT
    saved = dict(os.environ)  # chalice.cdk sets the stage's variables in this process's environment
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(workdir)  # chalice.cdk writes its package under the working directory
        for name, value in {**OFFLINE, "AWS_DEFAULT_REGION": "us-east-1"}.items():
            patch.setenv(name, value)
        app = cdk.App(outdir=str(workdir / "cdk.out"), context=context)
        stack = build(app, stage)
        template = assertions.Template.from_stack(stack)
        app.synth()
    os.environ.clear()
    os.environ.update(saved)
    return Synthesis(stage, template, dict(template.to_json()), workdir / "cdk.out")


@pytest.fixture(scope="session")
def prod(prod_package: Path, tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    # prod_package first: it fetches the Lambda wheels if this checkout has none yet.
    return synthesise("prod", tmp_path_factory.mktemp("synth-prod"))


@pytest.fixture(scope="session")
def dev(prod: Synthesis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesis]:
    # With the knobs of infra/app.py that prod leaves at their defaults.
    yield synthesise("dev", tmp_path_factory.mktemp("synth-dev"), {"api_timeout_seconds": 120, "nat_gateways": 2})
