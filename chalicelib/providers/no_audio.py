"""The audio half of the adapter protocol for providers that have no audio endpoints."""
from __future__ import annotations

from typing import Any

from chalicelib.providers import errors
from chalicelib.providers.base import AudioStream, AudioUpload, ChatStream, Result, Target, UpstreamError


def _no_transcription(target: Target, upload: AudioUpload) -> UpstreamError:
    what = "audio translation" if upload.task == "translations" else "audio transcription"
    return errors.unsupported(target.provider.name, what)


class NoAudio:
    async def transcription(self, target: Target, upload: AudioUpload) -> Result:
        raise _no_transcription(target, upload)

    async def transcription_stream(self, target: Target, upload: AudioUpload) -> ChatStream:
        raise _no_transcription(target, upload)

    async def speech(self, target: Target, body: dict[str, Any]) -> AudioStream:
        raise errors.unsupported(target.provider.name, "speech generation")
