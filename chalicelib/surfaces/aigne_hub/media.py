"""AIGNE image inputs and outputs <-> OpenAI's images API (pure)."""
from __future__ import annotations

from typing import Any

# Provider parameters arrive top-level in `input` (the SDK README's style) and in
# `input.modelOptions`; the latter wins. AIGNE's camelCase name -> OpenAI's.
IMAGE_PARAMS = {"size": "size", "quality": "quality", "style": "style", "background": "background",
                "moderation": "moderation", "outputFormat": "output_format",
                "outputCompression": "output_compression", "user": "user"}
MIME = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "webp": "image/webp"}


def image_request(image_input: dict[str, Any], model: str) -> dict[str, Any]:
    """A validated `ImageModelInput` -> the internal OpenAI images body."""
    body: dict[str, Any] = {"model": model, "prompt": image_input["prompt"]}
    if image_input.get("n"):
        body["n"] = image_input["n"]
    for source in (image_input, image_input.get("modelOptions") or {}):
        body.update({wire: source[key] for key, wire in IMAGE_PARAMS.items() if source.get(key) is not None})
    return body


def _file(data_url: str) -> dict[str, Any]:
    head, _, data = data_url.partition(",")
    return {"type": "file", "data": data, "mimeType": head[len("data:"):].split(";")[0] or "image/png"}


def images(answer: dict[str, Any], output_format: str | None) -> list[dict[str, Any]]:
    """OpenAI's `data` -> AIGNE files: a fetchable URL stays a URL, inline bytes become a file
    (the client rejects a bare `{url}`: each needs its `type`)."""
    mime = MIME.get((output_format or "png").lower(), "image/png")
    out = []
    for item in answer.get("data") or ():
        url = item.get("url")
        if isinstance(url, str) and url.startswith("data:"):
            out.append(_file(url))
        elif url:
            out.append({"type": "url", "url": url, "mimeType": mime})
        elif item.get("b64_json"):
            out.append({"type": "file", "data": item["b64_json"], "mimeType": mime})
    return out


# The VideoModelInput keys every video provider here reads; the rest (aspectRatio,
# negativePrompt, ...) no adapter takes, so they are not passed on.
VIDEO_PARAMS = ("seconds", "size")


def video_request(video_input: dict[str, Any], model: str) -> dict[str, Any]:
    """A validated `VideoModelInput` -> the internal (OpenAI videos) body; as for images,
    `modelOptions` wins over the top level."""
    body: dict[str, Any] = {"model": model, "prompt": video_input["prompt"]}
    for source in (video_input, video_input.get("modelOptions") or {}):
        body.update({key: source[key] for key in VIDEO_PARAMS if source.get(key) is not None})
    if "seconds" in body:
        body["seconds"] = str(body["seconds"])  # the pipeline's validation takes OpenAI's string
    return body


def seconds_number(seconds: float) -> int | float:
    """The client's schema wants a number; a whole one is written as such (4, not 4.0)."""
    return int(seconds) if float(seconds).is_integer() else seconds
