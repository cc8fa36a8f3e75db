"""Google's Veo through the Gemini API, pure: the predictLongRunning request and its operation.

`POST /v1beta/models/{model}:predictLongRunning` answers an operation `{"name"}`; `GET
/v1beta/{name}` until `done`; the finished operation's
`response.generateVideoResponse.generatedSamples[].video.uri` is downloaded with the key.
OpenAI's `size` (WIDTHxHEIGHT) becomes Veo's aspect ratio and resolution.
"""
from __future__ import annotations

import re
from typing import Any

from chalicelib.errors import bad_request

DEFAULT_SECONDS = 8.0  # what Veo makes when asked for no duration
_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9._-]*"  # never "." or "..": the name becomes a path
OPERATION = re.compile(rf"^(models/{_SEGMENT}/)?operations/{_SEGMENT}$")
_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")


def size_parameters(size: str) -> dict[str, str]:
    """aspectRatio and resolution for a WIDTHxHEIGHT: landscape is 16:9, portrait 9:16; 720p up
    to 1280 pixels on the long side, 1080p above."""
    found = _SIZE.match(size)
    if not found or found[1] == found[2]:
        raise bad_request(f"Veo makes 16:9 or 9:16 videos; 'size' {size!r} is neither (e.g. 1280x720, "
                          "720x1280, 1920x1080).", param="size")
    width, height = int(found[1]), int(found[2])
    return {"aspectRatio": "16:9" if width > height else "9:16",
            "resolution": "720p" if max(width, height) <= 1280 else "1080p"}


def output_size(parameters: dict[str, Any]) -> str:
    long_side, short_side = (1920, 1080) if parameters.get("resolution") == "1080p" else (1280, 720)
    portrait = parameters.get("aspectRatio") == "9:16"
    return f"{short_side}x{long_side}" if portrait else f"{long_side}x{short_side}"


def request(body: dict[str, Any], seconds: float | None) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    if body.get("size"):
        parameters.update(size_parameters(str(body["size"])))
    if seconds is not None:
        parameters["durationSeconds"] = int(seconds) if float(seconds).is_integer() else seconds
    if (body.get("n") or 1) > 1:
        parameters["sampleCount"] = body["n"]
    if body.get("negative_prompt"):
        parameters["negativePrompt"] = body["negative_prompt"]
    return {"instances": [{"prompt": body["prompt"]}], "parameters": parameters}


def operation_name(answer: dict[str, Any]) -> str | None:
    name = answer.get("name")
    return name if isinstance(name, str) and OPERATION.match(name) else None


def outcome(operation: dict[str, Any]) -> tuple[list[str], str | None] | None:
    """None while the operation runs; then (video URIs, None), or ([], why there is none)."""
    if not operation.get("done"):
        return None
    error = operation.get("error")
    if isinstance(error, dict):
        return [], str(error.get("message") or "the operation failed")
    response = operation.get("response") if isinstance(operation.get("response"), dict) else {}
    generated = response.get("generateVideoResponse") if isinstance(response.get("generateVideoResponse"), dict) else {}
    samples = generated.get("generatedSamples") if isinstance(generated.get("generatedSamples"), list) else []
    uris = [s["video"]["uri"] for s in samples
            if isinstance(s, dict) and isinstance(s.get("video"), dict) and isinstance(s["video"].get("uri"), str)]
    if uris:
        return uris, None
    reasons = generated.get("raiMediaFilteredReasons")
    if isinstance(reasons, list) and reasons:
        return [], "filtered by the provider's safety system: " + "; ".join(map(str, reasons))
    return [], "the operation finished without a video"
