"""Google's generateContent surface (`POST /v1beta/models/{model}:generateContent` and its
kin): translation in `translate`, the native passthrough to Gemini in
chalicelib/handlers/gemini_api.py."""
from __future__ import annotations

from chalicelib.surfaces.base import Surface
from chalicelib.surfaces.gemini_generate import translate

NAME = "gemini"

SURFACE = Surface(name=NAME, render_json=translate.response_from, renderer=translate.ResponseStream,
                  error_body=translate.error_body)
