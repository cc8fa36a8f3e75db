"""Endpoints of the Generative Language API v1beta (the key goes in `x-goog-api-key`)."""
from __future__ import annotations

from urllib.parse import quote

VERSION = "/v1beta"


def path(model: str, method: str) -> str:
    """`/v1beta/models/{model}:{method}`; the model id is quoted so it cannot reach another path."""
    return f"{VERSION}/models/{quote(model.removeprefix('models/'), safe='-._')}:{method}"


def stream_path(model: str) -> str:
    # alt=sse: one `data:` event per GenerateContentResponse chunk instead of a JSON array.
    return path(model, "streamGenerateContent") + "?alt=sse"


def is_imagen(model: str) -> bool:
    """Imagen models answer on :predict; Gemini image models on :generateContent."""
    return model.removeprefix("models/").startswith("imagen")
