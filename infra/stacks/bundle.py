"""What the stack reads from the Chalice project, and the functions' code bundles.

The streaming function runs the same code as the API function, so its bundle starts from the
zip `chalice package` built (app.py, chalicelib/ and the run-time dependencies as wheels for
Lambda's platform) and adds only the server (uvicorn, pure Python) and the start script.

`chalice package` ships Python source only (and whatever stale .pyc files the developer's tree
holds, which never validate: the zip stamps every file 1980). /var/task is read-only, so every
cold start would compile every module it imports: measured on the prod bundle, the first chat
completion took 823 ms from a fresh process as built and 271 ms precompiled. So the bundle is
rewritten with bytecode compiled for the runtime's Python, hash-based and unchecked (the
sources in a deployed bundle never change under it).
"""
from __future__ import annotations

import compileall
import importlib.metadata
import os
import py_compile
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice.cdk import Chalice
from constructs import Construct

RUN_SCRIPT = Path(__file__).resolve().parents[1] / "run.sh"
# uvicorn's own dependencies; the Chalice package already carries them (httpx needs h11,
# sqlite-utils needs click). Checked, so a change in requirements.txt cannot drop one silently.
SERVER_DEPENDENCIES = ("click/", "h11/")
# Fixed timestamps keep the zip (and so the CDK asset hash) stable from one synth to the next.
_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class ChaliceStage:
    """The settings of one stage of .chalice/config.json, as Chalice resolves them."""

    environment: dict[str, str]
    python_version: str  # e.g. "python3.11": the Lambda runtime Chalice packages for


def chalice_stage(project_dir: Path, stage: str) -> ChaliceStage:
    from chalice.cli.factory import CLIFactory

    config = CLIFactory(str(project_dir)).create_config_obj(chalice_stage_name=stage)
    api = config.scope(stage, "api_handler")
    return ChaliceStage(environment=dict(api.environment_variables), python_version=config.lambda_python_version)


class PrecompiledChalice(Chalice):
    """chalice.cdk's construct, its deployment.zip precompiled before the construct makes an
    asset of it (the asset is hashed and staged at construction, so no later step could)."""

    def __init__(self, scope: Construct, construct_id: str, *, python_version: str, **kwargs: Any) -> None:
        self._python_version = python_version
        super().__init__(scope, construct_id, **kwargs)

    def _package_app(self) -> None:  # chalice.cdk's hook between `chalice package` and its assets
        super()._package_app()
        precompile(Path(self._sam_package_dir) / "deployment.zip", self._python_version)


def precompile(bundle: Path, python_version: str) -> bool:
    """Rewrite `bundle` with each module's bytecode beside it (and no stale .pyc); False, and the
    bundle left as it was, when this interpreter is not the runtime's Python (its bytecode would
    not load there)."""
    if python_version != f"python{sys.version_info.major}.{sys.version_info.minor}":
        print(f"bundle: not precompiled, this is Python {sys.version.split()[0]} and the runtime {python_version}",
              file=sys.stderr)
        return False
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with zipfile.ZipFile(bundle) as source:
            entries = [(info, source.read(info)) for info in source.infolist()
                       if not info.is_dir() and not info.filename.endswith(".pyc")]
        for info, data in entries:
            path = root / info.filename
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        # ddir: tracebacks name the file where Lambda unpacks it. A module that does not
        # compile (a vendored file for another Python) simply stays source-only.
        compileall.compile_dir(root, ddir="/var/task", quiet=2, workers=1,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        modes = {info.filename: info.external_attr for info, _ in entries}
        out = bundle.with_suffix(".tmp")
        with zipfile.ZipFile(out, "w") as rebuilt:
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                name = path.relative_to(root).as_posix()
                mode = (modes.get(name, 0o100644 << 16) >> 16) & 0o7777
                _add(rebuilt, name, path.read_bytes(), mode or 0o644)
        os.replace(out, bundle)
    return True


def _add(bundle: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    bundle.writestr(info, data)


def _pure_python_files(distribution: str) -> list[tuple[str, Path]]:
    """The files of an installed pure-Python distribution (as its wheel would unpack them)."""
    dist = importlib.metadata.distribution(distribution)
    wheel = dist.read_text("WHEEL") or ""
    if "Root-Is-Purelib: true" not in wheel:
        raise RuntimeError(f"{distribution} is not pure Python: build it for Lambda's platform instead")
    files = []
    for file in dist.files or []:
        if "__pycache__" in file.parts or file.suffix == ".pyc" or file.parts[0].startswith(".."):
            continue
        files.append((file.as_posix(), Path(str(dist.locate_file(file)))))
    return files


def stream_bundle(chalice_zip: Path, out: Path) -> Path:
    """chalice_zip + uvicorn + run.sh at the root, where the web adapter's /opt/bootstrap looks."""
    shutil.copyfile(chalice_zip, out)
    with zipfile.ZipFile(out, "a") as bundle:
        present = bundle.namelist()
        missing = [dep for dep in SERVER_DEPENDENCIES if not any(n.startswith(dep) for n in present)]
        if missing:
            raise RuntimeError(f"the Chalice package lacks {missing}: add them to requirements.txt")
        _add(bundle, "run.sh", RUN_SCRIPT.read_bytes(), 0o755)
        for name, path in _pure_python_files("uvicorn"):
            _add(bundle, name, path.read_bytes())
    return out
