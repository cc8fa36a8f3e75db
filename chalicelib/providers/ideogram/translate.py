"""Pure translation between OpenAI's images API and Ideogram's generate endpoints.

Ideogram 3.0 (`POST /v1/ideogram-v3/generate`) takes multipart/form-data; the older models
(V_1, V_2, V_2A and their _TURBO variants) take JSON `{"image_request": {...}}` at
`POST /generate`. Both answer `{"created": <ISO datetime>, "data": [{"url", "prompt",
"resolution", "is_image_safe", "seed", "style_type"}]}` (developer.ideogram.ai API reference).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from chalicelib.errors import bad_request, not_found
from chalicelib.providers import errors
from chalicelib.providers.base import UpstreamError

V3_PATH = "/v1/ideogram-v3/generate"
LEGACY_PATH = "/generate"

# Ideogram 3.0's `resolution` enum, landscape and square; every portrait one is a mirror of these.
_V3_LANDSCAPE = (
    "1024x1024", "960x832", "960x896", "1024x832", "1024x896", "1024x960", "1088x768", "1088x832",
    "1088x896", "1088x960", "1120x896", "1152x704", "1152x832", "1152x864", "1152x896", "1216x704",
    "1216x768", "1216x832", "1248x832", "1280x704", "1280x768", "1280x800", "1312x736", "1344x640",
    "1344x704", "1344x768", "1408x576", "1408x640", "1408x704", "1472x576", "1472x640", "1472x704",
    "1536x512", "1536x576", "1536x640",
)
V3_RESOLUTIONS = frozenset(_V3_LANDSCAPE) | {"x".join(reversed(r.split("x"))) for r in _V3_LANDSCAPE}
V3_ASPECTS = ((1, 3), (3, 1), (1, 2), (2, 1), (9, 16), (16, 9), (10, 16), (16, 10), (2, 3), (3, 2),
              (3, 4), (4, 3), (4, 5), (5, 4), (1, 1))
LEGACY_ASPECTS = ((10, 16), (16, 10), (9, 16), (16, 9), (3, 2), (2, 3), (4, 3), (3, 4), (1, 1), (1, 3), (3, 1))

# OpenAI `quality` -> Ideogram 3.0 `rendering_speed`; other values are taken as Ideogram's own
# names (turbo, flash...) and upper-cased, so Ideogram itself judges them.
RENDERING_SPEEDS = {"low": "TURBO", "medium": "DEFAULT", "standard": "DEFAULT", "high": "QUALITY", "hd": "QUALITY",
                    "xhigh": "QUALITY", "max": "QUALITY"}
# OpenAI `style` -> `style_type`. "vivid" is DALL-E 3's default, so it keeps Ideogram's default.
STYLE_TYPES = {"natural": "REALISTIC", "vivid": None}

# Ideogram's own fields a client may send (openai SDK: extra_body); they win over mapped ones.
_NATIVE = {
    "v3": ("aspect_ratio", "resolution", "rendering_speed", "magic_prompt", "negative_prompt", "seed", "style_type"),
    "legacy": ("aspect_ratio", "resolution", "magic_prompt_option", "negative_prompt", "seed", "style_type",
               "color_palette"),
}
# The endpoints name the MagicPrompt switch differently; either name works for both.
_ALIASES = {"v3": ("magic_prompt_option", "magic_prompt"), "legacy": ("magic_prompt", "magic_prompt_option")}

# Key of the count of images Ideogram withheld as unsafe (added to the response only when > 0).
WITHHELD_KEY = "aihub_withheld_unsafe"


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    path: str
    form: dict[str, str] | None = None  # multipart fields (Ideogram 3.0)
    json: dict[str, Any] | None = None  # JSON body (legacy models)


@dataclass(frozen=True, slots=True)
class Generated:
    created: int
    images: list[dict[str, str]]  # {"url", "revised_prompt"} per usable image
    withheld: int  # images flagged unsafe or sent without a URL


@errors.request_translation
def build_request(body: dict[str, Any], model: str) -> UpstreamRequest:
    """The request for `model` (Ideogram's own id): `ideogram*` -> 3.0, `V_*` -> legacy."""
    if model.lower().startswith("ideogram"):
        return UpstreamRequest(V3_PATH, form=v3_form(body))
    if model.startswith("V_"):
        return UpstreamRequest(LEGACY_PATH, json=legacy_body(body, model))
    raise not_found(f"Ideogram has no model '{model}'; use ideogram-v3, or a legacy id such as V_2 or V_2_TURBO.",
                    code="model_not_found")


def v3_form(body: dict[str, Any]) -> dict[str, str]:
    fields: dict[str, Any] = {"prompt": body["prompt"], "num_images": body.get("n") or 1}
    native = _native(body, "v3")
    if "aspect_ratio" not in native and "resolution" not in native:  # Ideogram takes one or the other
        fields.update(v3_size(body.get("size")))
    speed = rendering_speed(body.get("quality"))
    if speed:
        fields["rendering_speed"] = speed
    style = style_type(body.get("style"))
    if style:
        fields["style_type"] = style
    fields.update(native)
    return {name: str(value) for name, value in fields.items()}


def legacy_body(body: dict[str, Any], model: str) -> dict[str, Any]:
    """The legacy request; `quality` is dropped (the model id, e.g. V_2_TURBO, sets the speed)."""
    request: dict[str, Any] = {"prompt": body["prompt"], "model": model, "num_images": body.get("n") or 1}
    native = _native(body, "legacy")
    if "aspect_ratio" not in native and "resolution" not in native:
        request.update(legacy_size(body.get("size")))
    style = style_type(body.get("style"))
    if style:
        request["style_type"] = style
    request.update(native)
    return {"image_request": request}


def _native(body: dict[str, Any], api: str) -> dict[str, Any]:
    out = {name: body[name] for name in _NATIVE[api] if body.get(name) is not None}
    alias, name = _ALIASES[api]
    if name not in out and body.get(alias) is not None:
        out[name] = body[alias]
    return out


def dimensions(size: str | None) -> tuple[int, int] | None:
    """`"1024x1792"` -> (1024, 1792); None for no size or "auto"; 400 for anything else."""
    if size is None or size in ("", "auto"):
        return None
    width, sep, height = str(size).lower().partition("x")
    if sep and width.isdigit() and height.isdigit() and int(width) and int(height):
        return int(width), int(height)
    raise bad_request(f"Invalid 'size': {size!r}; expected WIDTHxHEIGHT (such as 1024x1024) or auto.",
                      param="size", code="invalid_value")


def nearest_aspect(width: int, height: int, choices: tuple[tuple[int, int], ...]) -> tuple[int, int]:
    """The supported ratio closest to width:height (compared on a log scale, so 2:1 and 1:2 are
    as far from 1:1)."""
    target = math.log(width / height)
    return min(choices, key=lambda r: abs(math.log(r[0] / r[1]) - target))


def v3_size(size: str | None) -> dict[str, str]:
    """An exact Ideogram 3.0 resolution is kept; any other size becomes the nearest aspect ratio."""
    dims = dimensions(size)
    if dims is None:
        return {}
    exact = f"{dims[0]}x{dims[1]}"
    if exact in V3_RESOLUTIONS:
        return {"resolution": exact}
    a, b = nearest_aspect(*dims, V3_ASPECTS)
    return {"aspect_ratio": f"{a}x{b}"}


def legacy_size(size: str | None) -> dict[str, str]:
    dims = dimensions(size)
    if dims is None:
        return {}
    a, b = nearest_aspect(*dims, LEGACY_ASPECTS)
    return {"aspect_ratio": f"ASPECT_{a}_{b}"}


def rendering_speed(quality: str | None) -> str | None:
    if not quality or quality == "auto":
        return None
    return RENDERING_SPEEDS.get(quality, str(quality).upper())


def style_type(style: str | None) -> str | None:
    if not style:
        return None
    return STYLE_TYPES.get(style, str(style).upper())


def wants_b64(body: dict[str, Any]) -> bool:
    return body.get("response_format") == "b64_json"


def created_at(value: Any) -> int:
    """Ideogram's `created` (an ISO 8601 datetime) -> Unix seconds, as OpenAI's `created` is."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())
    return int(time.time())


def parse_response(content: bytes, provider: str) -> Generated:
    """Ideogram's answer -> the usable images; unsafe ones are withheld, and when none is left
    the call fails as OpenAI's safety system does (400 content_policy_violation)."""
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise errors.bad_response(provider, "the body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise errors.bad_response(provider, "no 'data' list")
    images: list[dict[str, str]] = []
    withheld = 0
    for item in data["data"]:
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(url, str) or not url or item.get("is_image_safe") is False:
            withheld += 1
            continue
        image = {"url": url}
        if isinstance(item.get("prompt"), str):
            image["revised_prompt"] = item["prompt"]  # MagicPrompt may have rewritten it
        images.append(image)
    if not images:
        if withheld:
            raise UpstreamError(400, f"Provider {provider} withheld all {withheld} generated image(s) as unsafe; "
                                     "try rephrasing the prompt.", code="content_policy_violation",
                                type="invalid_request_error", param="prompt")
        raise errors.bad_response(provider, "no images")
    return Generated(created_at(data.get("created")), images, withheld)


def openai_body(generated: Generated, b64: list[str] | None = None) -> dict[str, Any]:
    """OpenAI's ImagesResponse; with `b64`, the downloaded images replace the URLs in order."""
    if b64 is None:
        data = generated.images
    else:
        data = [{"b64_json": encoded, **{k: v for k, v in image.items() if k != "url"}}
                for image, encoded in zip(generated.images, b64, strict=True)]
    out: dict[str, Any] = {"created": generated.created, "data": data}
    if generated.withheld:
        out[WITHHELD_KEY] = generated.withheld
    return out
