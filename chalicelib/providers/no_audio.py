"""The audio half of the adapter protocol for providers that have no audio endpoints."""
from __future__ import annotations

from typing import Any

from chalicelib.providers import errors
from chalicelib.providers.base import AudioStream, AudioUpload, Result, Target


class NoAudio:
    async def transcription(self, target: Target, upload: AudioUpload) -> Result:
        what = "audio translation" if upload.task == "translations" else "audio transcription"
        raise errors.unsupported(target.provider.name, what)

    async def speech(self, target: Target, body: dict[str, Any]) -> AudioStream:
        raise errors.unsupported(target.provider.name, "speech generation")
