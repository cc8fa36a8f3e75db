"""The CDK app: one aihub stack for the stage given as `-c stage=...` or $STAGE (default dev).

`cdk synth` / `cdk deploy` run this (infra/cdk.json); `make synth` runs it without the CLI.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import aws_cdk as cdk

INFRA = Path(__file__).resolve().parent
PROJECT = INFRA.parent
if __package__ in (None, ""):  # run as a script: make `infra.stacks` importable
    sys.path.insert(0, str(PROJECT))

from infra.stacks import STAGES, AihubStack


def build(app: cdk.App, stage: str) -> AihubStack:
    if stage not in STAGES:
        raise SystemExit(f"unknown stage {stage!r}: one of {', '.join(STAGES)}")
    nat = app.node.try_get_context("nat_gateways")
    timeout = app.node.try_get_context("api_timeout_seconds")
    return AihubStack(app, stage, project_dir=PROJECT, nat_gateways=int(nat) if nat is not None else None,
                      api_timeout_seconds=int(timeout) if timeout else None,
                      hot_path=app.node.try_get_context("hot_path"))


def main() -> None:
    # `chalice package` needs a region (only to pick the partition's service principals); the
    # cdk CLI passes the target one as CDK_DEFAULT_REGION.
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("CDK_DEFAULT_REGION") or "us-east-1")
    # Outside the cdk CLI (make synth) write the cloud assembly where the CLI would.
    app = cdk.App(outdir=None if "CDK_OUTDIR" in os.environ else str(INFRA / "cdk.out"))
    # chalice.cdk writes its package under the working directory: keep that inside infra/.
    os.chdir(INFRA)
    build(app, app.node.try_get_context("stage") or os.environ.get("STAGE") or "dev")
    app.synth()


if __name__ == "__main__":
    main()
