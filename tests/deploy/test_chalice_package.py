"""`chalice package --stage prod` runs offline and ships the app, not the repository."""
from __future__ import annotations

import importlib.metadata
import json
import re
import zipfile
from pathlib import Path

from tests.deploy.conftest import ROOT

LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024


def _requirements() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [re.split(r"[=<>~!\[; ]", line.strip(), maxsplit=1)[0] for line in lines
            if line.strip() and not line.startswith(("#", "-"))]


def _top_level(distribution: str) -> set[str]:
    """The import packages an installed distribution provides (what the zip must carry)."""
    files = importlib.metadata.distribution(distribution).files or []
    return {f.parts[0].removesuffix(".py") for f in files
            if not f.parts[0].endswith((".dist-info", ".data")) and f.parts[0] not in ("..", "bin", "__pycache__")}


def _config() -> dict:
    return json.loads((ROOT / ".chalice" / "config.json").read_text())


def test_package_holds_app_chalicelib_and_runtime_dependencies_only(prod_package: Path):
    with zipfile.ZipFile(prod_package / "deployment.zip") as z:
        infos = z.infolist()
    names = {i.filename for i in infos}
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "chalicelib").rglob("*.py") if "__pycache__" not in p.parts}
    assert "app.py" in names and sources <= names
    tops = {n.split("/", 1)[0] for n in names}
    for requirement in _requirements():
        assert _top_level(requirement) & tops, f"{requirement} is missing from the package"
    for forbidden in ("tests", "web", "infra", "docs", ".chalice", ".venv", "node_modules", "data"):
        assert forbidden not in tops, forbidden
    assert not any(n.endswith((".db", ".secret")) for n in names)
    # Native code is built for Lambda's platform: CPython 3.11 (or the stable ABI) on x86_64 Linux.
    native = [n for n in names if n.endswith(".so")]
    assert native and all(("cpython-311-x86_64-linux-gnu" in n) or (".abi3." in n) for n in native), native
    assert sum(i.file_size for i in infos) < LAMBDA_UNZIPPED_LIMIT


def test_package_template_has_the_vpc_config_and_schedule(prod_package: Path):
    sam = json.loads((prod_package / "sam.json").read_text())
    resources = sam["Resources"]
    assert resources["RestAPI"]["Properties"]["EndpointConfiguration"] == "REGIONAL"
    # Audio uploads and generated speech cross API Gateway as binary (base64 to the Lambda).
    binary = resources["RestAPI"]["Properties"]["DefinitionBody"]["x-amazon-apigateway-binary-media-types"]
    assert {"multipart/form-data", "audio/mpeg", "audio/wav", "audio/pcm"} <= set(binary)
    for name in ("APIHandler", "MaintenanceRun"):
        props = resources[name]["Properties"]
        assert props["VpcConfig"]["SubnetIds"] and props["VpcConfig"]["SecurityGroupIds"], name
        assert props["Environment"]["Variables"]["AIHUB_DB"] == "/mnt/aihub/aihub.db"
        assert props["Runtime"] == "python3.11"
    assert resources["MaintenanceRun"]["Properties"]["Events"]["MaintenanceRunEvent"]["Properties"] == {
        "Schedule": "rate(1 minute)"}
    # Chalice's own IAM role is off for deployed stages: the CDK stack brings a least-privilege one.
    assert not [r for r in resources.values() if r["Type"] == "AWS::IAM::Role"]


def test_config_stages_are_consistent():
    config = _config()
    assert set(config["stages"]) == {"dev", "test", "prod"}
    for stage in ("test", "prod"):
        s = config["stages"][stage]
        env = {**config["environment_variables"], **s["environment_variables"]}
        assert s["api_gateway_endpoint_type"] == "REGIONAL" and s["manage_iam_role"] is False
        assert s["subnet_ids"] and s["security_group_ids"]
        assert env["AIHUB_DB"].startswith("/mnt/") and env["AIHUB_DB_JOURNAL"] == "delete"
        assert env["AIHUB_BILLING"] in ("on", "off")
        assert env["AIHUB_SECRET_ID"] == f"aihub/{stage}/master-secret"
        # The provider timeout must end before Lambda's, or a slow call dies unrecorded.
        assert float(env["AIHUB_READ_TIMEOUT"]) < config["lambda_timeout"]
    # chalice.test.Client defaults to "dev" and applies its variables over the caller's on every
    # request: dev sets no database, so a test's (or a laptop's) own AIHUB_DB stands.
    assert "AIHUB_DB" not in config["stages"]["dev"].get("environment_variables", {})
