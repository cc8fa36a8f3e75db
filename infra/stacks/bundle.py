"""What the stack reads from the Chalice project, and the streaming function's code bundle.

The streaming function runs the same code as the API function, so its bundle starts from the
zip `chalice package` built (app.py, chalicelib/ and the run-time dependencies as wheels for
Lambda's platform) and adds only the server (uvicorn, pure Python) and the start script.
"""
from __future__ import annotations

import importlib.metadata
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

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
