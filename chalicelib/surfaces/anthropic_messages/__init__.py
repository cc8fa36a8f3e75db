"""The Anthropic Messages surface (`POST /v1/messages`): translation in `translate`, the
native passthrough to Anthropic in chalicelib/handlers/anthropic_api.py."""
from __future__ import annotations

from chalicelib.surfaces.anthropic_messages import translate
from chalicelib.surfaces.base import Surface

NAME = "anthropic"


def surface(thinking: bool = False) -> Surface:
    """The surface of one request: whether a provider's reasoning is shown as thinking blocks
    depends on whether the client asked for thinking."""
    return Surface(name=NAME, render_json=lambda body, _record: translate.message_from(body, thinking=thinking),
                   renderer=lambda _record: translate.MessageStream(thinking), error_body=translate.error_body)


SURFACE = surface()
