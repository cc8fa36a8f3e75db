"""The CI workflow deploys prod from main only, after the tests, with OIDC credentials only."""
from __future__ import annotations

import subprocess

import yaml

from tests.deploy.conftest import ROOT


def test_workflow_tests_then_deploys_prod_with_oidc():
    text = (ROOT / ".github" / "workflows" / "deploy.yml").read_text()
    workflow = yaml.safe_load(text)
    jobs = workflow["jobs"]
    assert any(step.get("run") == "make test" for step in jobs["test"]["steps"])
    deploy = jobs["deploy-prod"]
    assert deploy["needs"] == "test" and "refs/heads/main" in deploy["if"] and "push" in deploy["if"]
    assert deploy["permissions"]["id-token"] == "write" and workflow["permissions"] == {"contents": "read"}
    (creds,) = [s for s in deploy["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials")]
    assert set(creds["with"]) >= {"role-to-assume", "aws-region"}
    assert "aws-access-key-id" not in text and "secrets.AWS" not in text, "no long-lived keys"
    runs = [s.get("run", "") for s in deploy["steps"]]
    assert any(r.startswith("make synth STAGE=prod") for r in runs)
    assert any(r.startswith("make deploy STAGE=prod") for r in runs)


def test_make_targets_exist():
    for target in ("synth", "deploy"):
        dry = subprocess.run(["make", "-n", target, "STAGE=prod"], cwd=ROOT, capture_output=True, text=True, check=False)
        assert dry.returncode == 0, dry.stderr
        assert "app.py" in dry.stdout or "cdk deploy" in dry.stdout
