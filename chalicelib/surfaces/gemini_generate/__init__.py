"""Google's generateContent surface (`POST /v1beta/models/{model}:generateContent` and its
kin): translation in `translate`, the native passthrough to Gemini in
chalicelib/handlers/gemini_api.py."""
from __future__ import annotations

from chalicelib.surfaces.base import Surface
from chalicelib.surfaces.gemini_generate import translate

NAME = "gemini"

SURFACE = Surface(name=NAME, render_json=lambda body, _record: translate.response_from(body),
                  renderer=lambda _record: translate.ResponseStream(), error_body=translate.error_body)
