"""Anthropic's Messages endpoint and the header it needs beside the API key."""
from __future__ import annotations

from dataclasses import replace

from chalicelib.providers.base import Target

PATH = "/v1/messages"  # below the base URL, which carries no version path
VERSION = "2023-06-01"


def versioned(target: Target) -> Target:
    """The target with `anthropic-version` among its provider's headers (unless one is set)."""
    spec = target.provider
    if any(name.lower() == "anthropic-version" for name, _ in spec.extra_headers):
        return target
    return replace(target, provider=replace(spec, extra_headers=(*spec.extra_headers, ("anthropic-version", VERSION))))
