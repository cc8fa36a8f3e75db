"""Refresh chalicelib/billing/catalogue.json from LiteLLM's MIT-licensed model price map.

    python scripts/refresh_catalogue.py [--version 1.110.2] [--source path/to/model_prices.json]

Without --source it downloads the pinned litellm wheel from PyPI (pip download, no install)
and reads model_prices_and_context_window_backup.json from inside it. Only the providers aihub
serves are kept, under aihub's provider names, with the fields aihub prices and routes by.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PINNED_VERSION = "1.110.2"
OUT = Path(__file__).resolve().parents[1] / "chalicelib" / "billing" / "catalogue.json"
LICENSE_OUT = OUT.with_name("CATALOGUE-LICENSE")
PRICE_FILE = "litellm/model_prices_and_context_window_backup.json"

# LiteLLM's provider name -> (aihub's provider, the prefix LiteLLM puts before model ids)
PROVIDERS = {
    "openai": ("openai", ""),
    "anthropic": ("anthropic", ""),
    "gemini": ("google", "gemini/"),
    "bedrock": ("bedrock", "bedrock/"),
    "bedrock_converse": ("bedrock", "bedrock/"),
    "deepseek": ("deepseek", "deepseek/"),
    "xai": ("xai", "xai/"),
    "volcengine": ("doubao", "volcengine/"),
    "ollama": ("ollama", "ollama/"),
    "openrouter": ("openrouter", "openrouter/"),
}
MODES = {"chat": "chat", "completion": "chat", "responses": "chat", "embedding": "embedding",
         "image_generation": "image", "video_generation": "video"}
COSTS = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost": "cache_write",
    "output_cost_per_image": "image",
    "output_cost_per_second": "second",
}
META = ("max_input_tokens", "max_output_tokens", "deprecation_date")


def entry(raw: dict) -> dict:
    out: dict = {"type": MODES[raw["mode"]], "costs_usd": {v: raw[k] for k, v in COSTS.items() if raw.get(k) is not None}}
    out.update({k: raw[k] for k in META if raw.get(k) is not None})
    features = sorted(k.removeprefix("supports_") for k, v in raw.items() if k.startswith("supports_") and v is True)
    if features:
        out["features"] = features
    return out


def convert(prices: dict, version: str) -> dict:
    models: dict[str, dict[str, dict]] = {}
    for key, raw in sorted(prices.items()):
        if not isinstance(raw, dict) or raw.get("mode") not in MODES:
            continue
        provider = PROVIDERS.get(raw.get("litellm_provider", ""))
        if provider is None or key.startswith("ft:"):
            continue
        name, prefix = provider
        model = key.removeprefix(prefix)
        if "/" in model and name not in ("openrouter", "bedrock"):
            continue  # size- or region-qualified variants of another entry
        models.setdefault(name, {})[model] = entry(raw)
    return {"source": f"litellm {version}: {PRICE_FILE}", "license": "MIT (see CATALOGUE-LICENSE)", "models": models}


def from_wheel(version: str) -> tuple[dict, str]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, f"litellm=={version}"],
                       check=True)
        wheel = next(Path(tmp).glob("litellm-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            prices = json.loads(zf.read(PRICE_FILE))
            licence = next(n for n in zf.namelist() if n.endswith("licenses/LICENSE") or n.endswith("/LICENSE"))
            return prices, zf.read(licence).decode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--version", default=PINNED_VERSION)
    parser.add_argument("--source", type=Path, help="a local model price JSON instead of the wheel")
    args = parser.parse_args()
    if args.source:
        prices, licence = json.loads(args.source.read_text()), None
    else:
        prices, licence = from_wheel(args.version)
    OUT.write_text(json.dumps(convert(prices, args.version), separators=(",", ":"), sort_keys=True) + "\n")
    if licence:
        LICENSE_OUT.write_text("The data in catalogue.json is derived from LiteLLM's model price map "
                               f"(litellm {args.version}), used under this licence:\n\n{licence}")
    counts = {p: len(m) for p, m in json.loads(OUT.read_text())["models"].items()}
    print(f"wrote {OUT} ({sum(counts.values())} models: {counts})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
